// Splitting text on a separator that may also stand inside brackets: "a in (x,y),b" on "," outside "(...)" is
// ["a in (x,y)", "b"]. Used by label selectors and Kustomize field paths.

/** `text` split on `sep` where it stands outside `open`…`close` pairs (nesting counted; the parts are not trimmed). */
export function splitOutside(text: string, sep: string, open: string, close: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of text) {
    if (c === open) depth++;
    if (c === close) depth--;
    if (c === sep && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

// The fast YAML reader's one-line flow collections (fastyaml.ts): `[a, "b", {c: 1}]`, `{a: 1, b: [x, y]}`, `[]`, `{}`.
import { checkPlain, giveUp, keyString, onlyComment, readQuoted, resolvePlain, trimWs } from "./fastyaml-scalars.js";

/** A one-line flow collection: `[a, "b", {c: 1}]`, `{a: 1, b: [x, y]}`, `[]`, `{}`; then only a comment. */
export function flowOnLine(t: string, y11: boolean): unknown {
  const p = { t, i: 0, y11 };
  const v = flowValue(p);
  onlyComment(t.slice(p.i));
  return v;
}

interface FlowPos {
  t: string;
  i: number;
  y11: boolean;
}

function skipSpaces(p: FlowPos): void {
  while (p.t[p.i] === " ") p.i++;
}

/** Skips spaces, then the closing bracket `close` if it is next: whether the collection ended here. */
function closes(p: FlowPos, close: "]" | "}"): boolean {
  skipSpaces(p);
  if (p.t[p.i] !== close) return false;
  p.i++;
  return true;
}

/** After an item of a flow collection: a `,` (a trailing one may end it) or `close`; anything else gives up. */
function endsAfterItem(p: FlowPos, close: "]" | "}"): boolean {
  skipSpaces(p);
  if (p.t[p.i] === ",") {
    p.i++;
    return closes(p, close);
  }
  if (p.t[p.i] === close) {
    p.i++;
    return true;
  }
  return giveUp();
}

function flowValue(p: FlowPos, depth = 0): unknown {
  if (depth > 50) giveUp();
  skipSpaces(p);
  const c = p.t[p.i];
  if (c === "[") {
    p.i++;
    const out: unknown[] = [];
    if (closes(p, "]")) return out;
    do out.push(flowValue(p, depth + 1));
    while (!endsAfterItem(p, "]"));
    return out;
  }
  if (c === "{") {
    p.i++;
    const out: Record<string, unknown> = {};
    if (closes(p, "}")) return out;
    do {
      skipSpaces(p);
      const quoted = p.t[p.i] === '"' || p.t[p.i] === "'";
      const key = quoted ? flowQuoted(p) : flowPlain(p, true);
      const k = keyString(key, quoted, p.y11);
      if (k === "<<" || k === "__proto__" || Object.prototype.hasOwnProperty.call(out, k)) giveUp();
      skipSpaces(p);
      if (p.t[p.i] !== ":") giveUp();
      p.i++;
      if (p.t[p.i] !== " " && p.t[p.i] !== "," && p.t[p.i] !== "}") giveUp();
      skipSpaces(p);
      const d = p.t[p.i];
      out[k] = d === "," || d === "}" ? null : flowValue(p, depth + 1);
    } while (!endsAfterItem(p, "}"));
    return out;
  }
  if (c === '"' || c === "'") return flowQuoted(p);
  const s = flowPlain(p, false);
  return resolvePlain(s, p.y11);
}

function flowQuoted(p: FlowPos): string {
  const [v, rest] = readQuoted(p.t.slice(p.i));
  p.i = p.t.length - rest.length;
  return v;
}

/** A plain scalar inside a flow collection: up to `,`, `]`, `}` (or `:` for a key); no `#`, `:` or indicators. */
function flowPlain(p: FlowPos, key: boolean): string {
  const start = p.i;
  while (p.i < p.t.length) {
    const ch = p.t[p.i]!;
    if (ch === "," || ch === "]" || ch === "}") break;
    if (ch === ":") {
      if (key) break;
      giveUp();
    }
    if (ch === "#" || ch === "[" || ch === "{" || ch === '"' || ch === "'") giveUp();
    p.i++;
  }
  const s = trimWs(p.t.slice(start, p.i));
  if (s === "") giveUp();
  checkPlain(s);
  return s;
}

import type { RenderLimits } from "../limits.js";
import { checkDepth, parseYamlDocs, type ParsedDoc, type ParseOptions } from "../yaml.js";
import { flowOnLine } from "./fastyaml-flow.js";
import { blank, giveUp, GiveUp, keyString, ltrim, rtrim, scalarOnLine, splitKey, splitKeySafe } from "./fastyaml-scalars.js";

export { resolvePlain } from "./fastyaml-scalars.js";

// A fast reader for the YAML most Kubernetes manifests are written in: block maps and sequences, single-line plain
// and quoted scalars, literal block scalars (`|`, `|-`, `|+`), `{}`/`[]` and one-line flow lists and maps of scalars,
// comments and `---` separators. Anything else — anchors, aliases, tags, folded scalars, multi-line plain or quoted
// scalars, nested flow collections, complex keys, duplicate keys, tabs, directives — makes it give up (undefined), and
// the caller uses the full `yaml` library, which also produces every error message. When it does not give up, its
// result equals the library's with Mooring's schema (YAML 1.2 core, `0644` octal as go-yaml reads it, optional YAML 1.1
// booleans) and go-yaml's chomping (a block scalar ending the text without a newline has none): the test
// `test/unit/render/kustomize/fastyaml.test.ts` checks that on every YAML file of the fixtures and of the real-world corpus.

export interface FastDoc {
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
}

interface Line {
  /** Column of the first non-space character. */
  indent: number;
  /** The line without its indentation (comments not yet removed). */
  text: string;
  /** 0-based line number. */
  no: number;
}

class Reader {
  private i = 0;
  constructor(
    private readonly lines: Line[],
    private readonly raw: string[],
    private readonly y11: boolean,
    private readonly endsWithNewline: boolean,
  ) {}

  get done(): boolean {
    return this.i >= this.lines.length;
  }

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** The node starting at the current line, whose lines are indented at least `min`. */
  node(min: number): unknown {
    const l = this.peek();
    if (!l || l.indent < min) return null;
    if (l.text === "-" || l.text.startsWith("- ")) return this.seq(l.indent);
    if (splitKey(l.text)) return this.map(l.indent);
    // A scalar alone on its line(s): only as a whole document.
    return giveUp();
  }

  private seq(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let l = this.peek(); l && l.indent === indent && (l.text === "-" || l.text.startsWith("- ")); l = this.peek()) {
      const content = l.text === "-" ? "" : l.text.slice(2);
      const rest = ltrim(content);
      const pad = content.length - rest.length;
      if (rest === "" || rest[0] === "#") {
        this.i++;
        out.push(this.nested(indent, true));
        continue;
      }
      // The item's content starts a block at its own column ("- key: v" is a map, "- - x" a list).
      const col = indent + 2 + pad;
      if (rest === "-" || rest.startsWith("- ") || splitKeySafe(rest)) {
        this.lines[this.i] = { indent: col, text: rest, no: l.no };
        out.push(this.node(col));
        continue;
      }
      this.i++;
      out.push(this.inlineValue(rest, indent, l));
    }
    const next = this.peek();
    if (next && next.indent > indent) giveUp();
    return out;
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let l = this.peek(); l && l.indent === indent && !(l.text === "-" || l.text.startsWith("- ")); l = this.peek()) {
      const kv = splitKey(l.text);
      if (!kv) giveUp();
      const [k, v] = kv!;
      const key = keyString(k, l.text[0] === '"' || l.text[0] === "'", this.y11);
      if (Object.prototype.hasOwnProperty.call(out, key)) giveUp();
      this.i++;
      const rest = ltrim(v);
      if (rest === "" || rest[0] === "#") {
        if (v !== "" && v[0] !== " ") giveUp();
        out[key] = this.nested(indent, false);
      } else {
        if (v[0] !== " ") giveUp();
        out[key] = this.inlineValue(rest, indent, l);
      }
    }
    const next = this.peek();
    if (next && next.indent > indent) giveUp();
    return out;
  }

  /** What follows `key:` or `-` on the next lines: a deeper block, a list at the key's own column, or null. */
  private nested(indent: number, inSeq: boolean): unknown {
    const l = this.peek();
    if (!l) return null;
    if (l.indent > indent) return this.node(l.indent);
    if (!inSeq && l.indent === indent && (l.text === "-" || l.text.startsWith("- "))) return this.seq(indent);
    return null;
  }

  private inlineValue(rest: string, indent: number, l: Line): unknown {
    const c = rest[0]!;
    let value: unknown;
    if (c === "|") value = this.literal(rest, indent, l);
    else if (c === "[" || c === "{") value = flowOnLine(rest, this.y11);
    else value = scalarOnLine(rest, this.y11);
    // A more-indented line after a one-line value would continue a plain scalar (or be an error): not ours.
    const next = this.peek();
    if (c !== "|" && next && next.indent > indent) giveUp();
    return value;
  }

  /** A literal block scalar (`|`, `|-`, `|+`), with go-yaml's chomping. */
  private literal(header: string, indent: number, l: Line): string {
    const m = header.match(/^\|([+-]?)(\s+#.*)?\s*$/);
    if (!m) giveUp();
    const chomp = m![1];
    const start = l.no + 1;
    const { body, contentIndent, end } = this.literalLines(start, indent);
    // Leading blank lines may not be more indented than the content.
    if (contentIndent < 0) {
      // Only blank lines: the value is empty (keep: their line breaks).
      for (const r of body) if (r.length > indent + 1 && blank(r)) giveUp();
      this.skipTo(end);
      if (chomp === "+") return "\n".repeat(Math.max(0, this.breaksIn(start, end)));
      return "";
    }
    // A whitespace-only line longer than the indentation is content (spaces), not a blank line: not ours.
    for (const r of body) if (blank(r) && r.length > contentIndent) giveUp();
    const text = this.chomped(body, contentIndent, start, chomp);
    this.skipTo(end);
    return text;
  }

  /** Raw lines from `start`, up to the first non-empty line indented at most `indent`, and the content's indentation. */
  private literalLines(start: number, indent: number): { body: string[]; contentIndent: number; end: number } {
    const body: string[] = [];
    let j = start;
    let contentIndent = -1;
    for (; j < this.raw.length; j++) {
      const r = this.raw[j]!;
      const trimmed = ltrim(r);
      const ind = r.length - trimmed.length;
      if (trimmed === "") {
        if (r.includes("\t")) giveUp();
        body.push(r);
        continue;
      }
      if (r.slice(0, ind).includes("\t")) giveUp();
      if (ind <= indent) break;
      if (contentIndent < 0) contentIndent = ind;
      if (ind < contentIndent) giveUp(); // less indented than the first line: an error in YAML
      body.push(r);
    }
    return { body, contentIndent, end: j };
  }

  /** The literal's text from its lines (`body`, starting at raw line `start`), chomped as `chomp` says. */
  private chomped(body: string[], contentIndent: number, start: number, chomp: string | undefined): string {
    // Drop trailing blank lines from the content; they only count as line breaks.
    let last = body.length - 1;
    while (last >= 0 && blank(body[last]!)) last--;
    const lines = body.slice(0, last + 1).map((r) => (r.length >= contentIndent ? r.slice(contentIndent) : ""));
    let text = lines.join("\n");
    // The line break ending the last content line exists unless that line ends the text without one.
    const lastContentLine = start + last;
    const hasBreak = lastContentLine < this.raw.length - 1 || this.endsWithNewline;
    const trailingBlank = body.length - 1 - last;
    if (chomp === "-") {
      // strip: no final line break
    } else if (chomp === "+") {
      if (hasBreak) text += "\n";
      text += "\n".repeat(this.keptBreaks(lastContentLine + 1, trailingBlank));
    } else if (hasBreak) text += "\n";
    return text;
  }

  /** Moves past the lines before raw line `end` (the literal's). */
  private skipTo(end: number): void {
    while (this.i < this.lines.length && this.lines[this.i]!.no < end) this.i++;
  }

  /** Line breaks of trailing blank lines a keeping (`|+`) scalar keeps: each blank line that ends with a break. */
  private keptBreaks(from: number, count: number): number {
    let n = 0;
    for (let k = 0; k < count; k++) {
      const idx = from + k;
      if (idx < this.raw.length - 1 || this.endsWithNewline) n++;
    }
    return n;
  }

  private breaksIn(from: number, to: number): number {
    let n = 0;
    for (let k = from; k < to; k++) if (k < this.raw.length - 1 || this.endsWithNewline) n++;
    return n;
  }
}

/** Parses `text` if it is in the subset this reader knows; undefined otherwise. */
export function fastParseDocs(text: string, yaml11Booleans = false): FastDoc[] | undefined {
  if (text.length === 0) return [];
  const c0 = text.charCodeAt(0);
  if (c0 === 0xfeff || text[0] === "{" || text[0] === "[" || text[0] === "%") return undefined;
  if (text.includes("\r") && /\r(?!\n)/.test(text)) return undefined;
  const endsWithNewline = text.endsWith("\n");
  const raw = text.split(/\r?\n/);
  if (endsWithNewline) raw.pop();
  try {
    const docs: FastDoc[] = [];
    let cur: Line[] = [];
    let curRaw: string[] = [];
    let curStart = 0;
    const flush = (lastInText: boolean): void => {
      const lines = cur;
      if (lines.length > 0) {
        const reader = new Reader(lines, curRaw, yaml11Booleans, lastInText ? endsWithNewline : true);
        const first = lines[0]!;
        if (first.indent !== 0) giveUp();
        const value = reader.node(0);
        if (!reader.done) giveUp();
        if (value !== null && value !== undefined) docs.push({ value, line: first.no + 1 + curStart });
      }
      cur = [];
      curRaw = [];
    };
    for (let n = 0; n < raw.length; n++) {
      const r = raw[n]!;
      if (r === "---" || r.startsWith("--- ") || r === "..." || r.startsWith("... ")) {
        if (r.length > 3 && !blank(r.slice(4)) && !ltrim(r.slice(4)).startsWith("#")) giveUp();
        flush(false);
        curStart = n + 1;
        continue;
      }
      curRaw.push(r);
      const trimmed = ltrim(r);
      if (trimmed === "" || trimmed[0] === "#") continue;
      const indent = r.length - trimmed.length;
      if (r.slice(0, indent).includes("\t")) giveUp();
      cur.push({ indent, text: rtrim(trimmed), no: n - curStart });
    }
    flush(true);
    return docs;
  } catch (err) {
    if (err instanceof GiveUp) return undefined;
    throw err;
  }
}

/**
 * parseYamlDocs with the fast path: texts in the subset above are read here (several times faster than the full
 * library, which dominates the cost of a large render), everything else by parseYamlDocs. Same values, same lines.
 */
export function parseManifestDocs(text: string, file: string, limits: Pick<RenderLimits, "maxAliasCount" | "maxDepth">, opts: ParseOptions = {}): ParsedDoc[] {
  const fast = fastParseDocs(text, opts.yaml11Booleans === true);
  if (!fast) return parseYamlDocs(text, file, limits, opts);
  for (const d of fast) checkDepth(d.value, limits.maxDepth, file, d.line);
  return fast;
}

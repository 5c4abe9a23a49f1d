import type { RenderLimits } from "../limits.js";
import { checkDepth, parseYamlDocs, type ParsedDoc, type ParseOptions } from "../yaml.js";

// A fast reader for the YAML most Kubernetes manifests are written in: block maps and sequences, single-line plain
// and quoted scalars, literal block scalars (`|`, `|-`, `|+`), `{}`/`[]` and one-line flow lists and maps of scalars,
// comments and `---` separators. Anything else — anchors, aliases, tags, folded scalars, multi-line plain or quoted
// scalars, nested flow collections, complex keys, duplicate keys, tabs, directives — makes it give up (undefined), and
// the caller uses the full `yaml` library, which also produces every error message. When it does not give up, its
// result equals the library's with Mooring's schema (YAML 1.2 core, `0644` octal as go-yaml reads it, optional YAML 1.1
// booleans) and go-yaml's chomping (a block scalar ending the text without a newline has none): the test
// `kustomize-fastyaml.test.ts` checks that on every YAML file of the fixtures and of the real-world corpus.

export interface FastDoc {
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
}

class GiveUp extends Error {}

// YAML's white space is the space and the tab only (String.prototype.trim would also eat U+00A0 and friends).
const ltrim = (x: string): string => x.replace(/^[ \t]+/, "");
const rtrim = (x: string): string => x.replace(/[ \t]+$/, "");
const trimWs = (x: string): string => rtrim(ltrim(x));
const blank = (x: string): boolean => /^[ \t]*$/.test(x);
const giveUp = (): never => {
  throw new GiveUp();
};

interface Line {
  /** Column of the first non-space character. */
  indent: number;
  /** The line without its indentation (comments not yet removed). */
  text: string;
  /** 0-based line number. */
  no: number;
}

const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const YAML11_BOOL_RE = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;
const LEGACY_OCT_RE = /^[-+]?0[0-7]+$/;
const OCT_RE = /^0o[0-7]+$/;
const INT_RE = /^[-+]?[0-9]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value under Mooring's schema (the order of the `yaml` library's tag tests). */
export function resolvePlain(s: string, yaml11Booleans: boolean): unknown {
  const c = s.charCodeAt(0);
  // Most plain scalars are words: nothing below can match unless the first character is one of these.
  const maybeSpecial = s === "" || c === 126 /* ~ */ || c === 43 || c === 45 || c === 46 || (c >= 48 && c <= 57) || /^[NnTtFfYyOo]/.test(s);
  if (!maybeSpecial) return s;
  if (LEGACY_OCT_RE.test(s)) return parseInt(s, 8);
  if (yaml11Booleans && YAML11_BOOL_RE.test(s)) return /^(?:y|yes|on)$/i.test(s);
  if (NULL_RE.test(s)) return null;
  if (BOOL_RE.test(s)) return s[0] === "t" || s[0] === "T";
  if (OCT_RE.test(s)) return parseInt(s.slice(2), 8);
  if (INT_RE.test(s)) return parseInt(s, 10);
  if (HEX_RE.test(s)) return parseInt(s, 16);
  if (NAN_RE.test(s)) return s.endsWith("nan") || s.endsWith("NaN") || s.endsWith("NAN") ? NaN : s[0] === "-" ? -Infinity : Infinity;
  if (EXP_RE.test(s) || FLOAT_RE.test(s)) return parseFloat(s);
  return s;
}

/** Where a plain scalar (or a key) ends on a line: before " #" (a comment). */
function stripComment(t: string): string {
  const i = t.indexOf(" #");
  return rtrim(i < 0 ? t : t.slice(0, i));
}

const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\u0085",
  _: "\u00a0",
  L: "\u2028",
  P: "\u2029",
};

/** A quoted scalar starting at t[0]; returns its value and the rest of the line after the closing quote. */
function readQuoted(t: string): [string, string] {
  const q = t[0]!;
  let out = "";
  let i = 1;
  for (;;) {
    if (i >= t.length) giveUp(); // multi-line quoted scalar
    const ch = t[i]!;
    if (q === "'") {
      if (ch === "'") {
        if (t[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        return [out, t.slice(i + 1)];
      }
      out += ch;
      i++;
      continue;
    }
    if (ch === '"') return [out, t.slice(i + 1)];
    if (ch === "\\") {
      const e = t[i + 1];
      if (e === undefined) giveUp();
      if (e === "x" || e === "u" || e === "U") {
        const n = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = t.slice(i + 2, i + 2 + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) giveUp();
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) giveUp();
        out += String.fromCodePoint(cp);
        i += 2 + n;
        continue;
      }
      const r = ESCAPES[e!];
      if (r === undefined) giveUp();
      out += r;
      i += 2;
      continue;
    }
    out += ch;
    i++;
  }
}

/** The rest of a line after a scalar must be empty or a comment. */
function onlyComment(rest: string): void {
  const r = ltrim(rest);
  if (r === "") return;
  if (r[0] === "#" && rest.length > r.length) return;
  giveUp();
}

/** A scalar written in full on one line (value of a key or a list item, or a flow item). */
function scalarOnLine(t: string, y11: boolean): unknown {
  if (t[0] === '"' || t[0] === "'") {
    const [v, rest] = readQuoted(t);
    onlyComment(rest);
    return v;
  }
  const s = stripComment(t);
  checkPlain(s);
  return resolvePlain(s, y11);
}

/** Plain scalars the fast reader does not take: ones starting with an indicator, or holding `: ` or a tab. */
function checkPlain(s: string): void {
  if (s === "") return;
  const c = s[0]!;
  if ("&*!|>%@`[]{},#?".includes(c)) giveUp();
  if ((c === "-" || c === ":") && (s.length === 1 || s[1] === " ")) giveUp();
  if (s.includes(": ") || s.endsWith(":") || s.includes("\t")) giveUp();
  if (s === "---" || s === "...") giveUp();
}

/** A key: a plain or quoted scalar followed by ":" and a space or the end of the line. */
function splitKey(t: string): [string, string] | undefined {
  if (t[0] === '"' || t[0] === "'") {
    const [k, rest] = readQuoted(t);
    const r = ltrim(rest);
    if (r[0] !== ":") return undefined;
    if (r.length > 1 && r[1] !== " ") giveUp();
    return [k, r.slice(1)];
  }
  let i = t.indexOf(":");
  while (i >= 0) {
    if (i === t.length - 1 || t[i + 1] === " ") break;
    i = t.indexOf(":", i + 1);
  }
  if (i < 0) return undefined;
  const key = rtrim(t.slice(0, i));
  if (key.includes(" #")) return undefined;
  checkPlain(key);
  if (key === "" || key === "<<" || key === "__proto__") giveUp();
  return [key, t.slice(i + 1)];
}

function keyString(k: string, quoted: boolean, y11: boolean): string {
  if (quoted) return k;
  const v = resolvePlain(k, y11);
  if (typeof v !== "string") giveUp(); // keys that are numbers, booleans or null: let the library decide
  return v as string;
}

/** A one-line flow collection: `[a, "b", {c: 1}]`, `{a: 1, b: [x, y]}`, `[]`, `{}`; then only a comment. */
function flowOnLine(t: string, y11: boolean): unknown {
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
    // Raw lines after the header, up to the first non-empty line indented at most `indent`.
    const start = l.no + 1;
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
    // Leading blank lines may not be more indented than the content.
    if (contentIndent < 0) {
      // Only blank lines: the value is empty (keep: their line breaks).
      for (const r of body) if (r.length > indent + 1 && blank(r)) giveUp();
      while (this.i < this.lines.length && this.lines[this.i]!.no < j) this.i++;
      if (chomp === "+") return "\n".repeat(Math.max(0, this.breaksIn(start, j)));
      return "";
    }
    // A whitespace-only line longer than the indentation is content (spaces), not a blank line: not ours.
    for (const r of body) if (blank(r) && r.length > contentIndent) giveUp();
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
    while (this.i < this.lines.length && this.lines[this.i]!.no < j) this.i++;
    return text;
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

function splitKeySafe(t: string): boolean {
  try {
    return splitKey(t) !== undefined;
  } catch (err) {
    if (err instanceof GiveUp) return false;
    throw err;
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

// The fast YAML reader's scalars and keys (fastyaml.ts): plain scalars resolved under Mooring's schema, quoted
// scalars on one line, a `key:` split off a line. Anything outside the subset gives up (throws GiveUp).

export class GiveUp extends Error {}

// YAML's white space is the space and the tab only (String.prototype.trim would also eat U+00A0 and friends).
export const ltrim = (x: string): string => x.replace(/^[ \t]+/, "");
export const rtrim = (x: string): string => x.replace(/[ \t]+$/, "");
export const trimWs = (x: string): string => rtrim(ltrim(x));
export const blank = (x: string): boolean => /^[ \t]*$/.test(x);
export const giveUp = (): never => {
  throw new GiveUp();
};

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
export function readQuoted(t: string): [string, string] {
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
export function onlyComment(rest: string): void {
  const r = ltrim(rest);
  if (r === "") return;
  if (r[0] === "#" && rest.length > r.length) return;
  giveUp();
}

/** A scalar written in full on one line (value of a key or a list item, or a flow item). */
export function scalarOnLine(t: string, y11: boolean): unknown {
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
export function checkPlain(s: string): void {
  if (s === "") return;
  const c = s[0]!;
  if ("&*!|>%@`[]{},#?".includes(c)) giveUp();
  if ((c === "-" || c === ":") && (s.length === 1 || s[1] === " ")) giveUp();
  if (s.includes(": ") || s.endsWith(":") || s.includes("\t")) giveUp();
  if (s === "---" || s === "...") giveUp();
}

/** A key: a plain or quoted scalar followed by ":" and a space or the end of the line. */
export function splitKey(t: string): [string, string] | undefined {
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

export function keyString(k: string, quoted: boolean, y11: boolean): string {
  if (quoted) return k;
  const v = resolvePlain(k, y11);
  if (typeof v !== "string") giveUp(); // keys that are numbers, booleans or null: let the library decide
  return v as string;
}

export function splitKeySafe(t: string): boolean {
  try {
    return splitKey(t) !== undefined;
  } catch (err) {
    if (err instanceof GiveUp) return false;
    throw err;
  }
}

// YAML and JSON parsing with the protections a renderer of untrusted repositories needs: a cap on aliases
// (billion laughs), on nesting depth, and errors that carry the file and line.
import { isPair, isScalar, parseAllDocuments, stringify, YAMLParseError, type Document, type ScalarTag } from "yaml";
import { RenderError } from "./errors.js";
import type { RenderLimits } from "./limits.js";

// An extra reading of plain scalars matching `test` as the standard `tag` (int or bool). It never claims a value
// when writing (`identify` is false), so values keep their standard form; a string it matches gets quoted.
function textTag(tag: "int" | "bool", test: RegExp, resolve: (s: string) => number | boolean, format?: string): ScalarTag {
  return { identify: () => false, default: true, tag: `tag:yaml.org,2002:${tag}`, ...(format ? { format } : {}), test, resolve };
}

// Kubernetes tooling reads YAML with go-yaml, where `0644` is octal (420) — `defaultMode: 0644` must mean 420 — while
// `yes`/`on` stay strings. The `yaml` library's 1.2 core schema reads `0644` as 644, so a leading-zero octal tag is
// put in front of its integer tags.
const LEGACY_OCTAL = textTag("int", /^[-+]?0[0-7]+$/, (s) => parseInt(s, 8), "OCT");

// Kustomization files are read by Kustomize with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1), where `yes`, `on`, `y`
// and the like are booleans: `commonLabels: {enabled: on}` is refused there, so it must be here too.
const YAML11_BOOL = textTag("bool", /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/, (s) => /^(?:y|yes|on)$/i.test(s));

// When writing, quote every string that any YAML reader (1.1 or 1.2) could take for something else ("yes", "0644",
// "0o17"), so output piped to kubectl means what it says.
const OCTAL_12 = textTag("int", /^0o[0-7]+$/, (s) => parseInt(s.slice(2), 8), "OCT");

/** YAML text of one value: block style, no line folding, ambiguous strings quoted. */
export function toYamlText(value: unknown): string {
  return stringify(value, {
    version: "1.1",
    customTags: (tags) => [...tags, OCTAL_12],
    lineWidth: 0,
    minContentWidth: 0,
    aliasDuplicateObjects: false,
    indentSeq: false,
  });
}

export interface ParsedDoc {
  value: unknown;
  /** 1-based line where the document starts. */
  line: number;
}

export interface ParseOptions {
  /** Read `yes`/`no`/`on`/`off`/`y`/`n` as booleans (YAML 1.1, as sigs.k8s.io/yaml does for kustomization files). */
  yaml11Booleans?: boolean;
}

/**
 * Parses every document of a multi-document YAML (or JSON) text; empty documents are dropped. Scalars follow Go YAML
 * (go-yaml v3, which Kustomize and kubectl use): duplicate keys are errors, tabs may not indent, `0644` is octal, and
 * a block scalar (`|`, `>`) on the last line of a file without a final newline gets no newline either.
 */
export function parseYamlDocs(text: string, file: string, limits: Pick<RenderLimits, "maxAliasCount" | "maxDepth">, opts: ParseOptions = {}): ParsedDoc[] {
  const lineOf = lineIndex(text);
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      prettyErrors: false,
      uniqueKeys: true,
      merge: true,
      intAsBigInt: false,
      customTags: (tags) => (opts.yaml11Booleans ? [LEGACY_OCTAL, YAML11_BOOL, ...tags] : [LEGACY_OCTAL, ...tags]),
    }) as Document.Parsed[];
  } catch (err) {
    throw wrapYamlError(err, file, lineOf);
  }
  if (!Array.isArray(docs)) docs = [docs];
  if (docs.length > 0 && !text.endsWith("\n")) unclipFinalBlockScalar(docs[docs.length - 1]!, text);
  const out: ParsedDoc[] = [];
  for (const doc of docs) {
    // The line of the document's first content (after any `---` marker or comments).
    const start = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = lineOf(start);
    const first = doc.errors[0];
    if (first) throw wrapYamlError(first, file, lineOf);
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      throw wrapYamlError(err, file, lineOf, line);
    }
    if (value === null || value === undefined) continue;
    checkDepth(value, limits.maxDepth, file, line);
    out.push({ value, line });
  }
  return out;
}

/**
 * The `yaml` library keeps a clipped (`|`, `>`) or kept (`|+`) block scalar's final line break even when the text
 * ends on that line without one; go-yaml does not add it (there is no line break to keep). One byte, but it changes a
 * ConfigMap's value and its name hash, so the last block scalar of a text without a final newline loses it here.
 */
function unclipFinalBlockScalar(doc: Document.Parsed, text: string): void {
  const lastLine = text.slice(text.lastIndexOf("\n") + 1);
  if (lastLine.trim() === "") return;
  // The scalar that ends the text is the last node in document order: follow the last item down.
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 1000 && node; depth++) {
    if (isScalar(node)) break;
    const items = (node as { items?: unknown[] }).items;
    if (!Array.isArray(items) || items.length === 0) return;
    const last = items[items.length - 1];
    node = isPair(last) ? (last.value ?? last.key) : last;
  }
  if (!isScalar(node) || (node.type !== "BLOCK_LITERAL" && node.type !== "BLOCK_FOLDED")) return;
  if (node.range?.[1] !== text.length || typeof node.value !== "string" || !node.value.endsWith("\n")) return;
  node.value = node.value.slice(0, -1);
}

function wrapYamlError(err: unknown, file: string, lineOf: (offset: number) => number, docLine?: number): RenderError {
  if (err instanceof RangeError || (err instanceof Error && /Maximum call stack size exceeded/.test(err.message))) {
    // The parser's recursion ran out of stack: the document nests far too deep.
    return new RenderError("YAML nests too deeply to parse", { file, line: docLine }, { cause: err });
  }
  if (err instanceof YAMLParseError) {
    const line = err.linePos?.[0]?.line ?? lineOf(err.pos[0]);
    const msg = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return new RenderError(`invalid YAML: ${msg}`, { file, line }, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (/alias/i.test(msg)) {
    return new RenderError(`YAML uses too many aliases (possible alias bomb): ${msg}`, { file, line: docLine }, { cause: err });
  }
  return new RenderError(`invalid YAML: ${msg}`, { file, line: docLine }, { cause: err });
}

/** Iterative depth check, so the check itself cannot overflow the stack. */
export function checkDepth(value: unknown, maxDepth: number, file: string, line?: number): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > maxDepth) throw new RenderError(`document nests deeper than ${maxDepth} levels`, { file, line });
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
}

function lineIndex(text: string): (offset: number) => number {
  const starts: number[] = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

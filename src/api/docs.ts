// The field reference in docs/api.md, generated from the same schemas as the CRDs, so the documented
// defaults, enums and rules are the ones the API server enforces. Hand-written prose around it stays as is:
// only the blocks between `<!-- generated:fields Kind spec|status -->` and `<!-- /generated -->` are rewritten.
import { KIND_DEFINITIONS } from "./crd.js";
import { PATTERN_HINTS } from "./schema.js";

type Schema = Record<string, any>;

/** The reference page, relative to the repository root. */
export const API_DOC = "docs/api.md";

function typeOf(s: Schema): string {
  if (s.type === "array") return `[]${typeOf(s.items ?? {})}`;
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") return `map[string]${typeOf(s.additionalProperties)}`;
  if (s["x-kubernetes-preserve-unknown-fields"]) return "object (free-form)";
  if (s.type === "string" && s.format === "date-time") return "time";
  return s.type ?? "any";
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function code(v: unknown): string {
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function rules(s: Schema): string[] {
  const out: string[] = [];
  if (s.enum) out.push(`one of ${s.enum.map(code).join(", ")}`);
  if (s.pattern) out.push(PATTERN_HINTS[s.pattern] ?? `matches ${code(s.pattern)}`);
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.type === "array" && s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
  if (s.type === "array" && s.minItems) out.push(`at least ${s.minItems} item${s.minItems === 1 ? "" : "s"}`);
  for (const r of s["x-kubernetes-validations"] ?? []) out.push(r.message);
  for (const r of s["x-mooring-checks"] ?? []) out.push(`${r.message} (checked by the CLI and controllers)`);
  return out;
}

function rows(s: Schema, at: string, required: boolean, out: string[]): void {
  const notes = rules(s);
  const cells = [
    code(at),
    escapeCell(typeOf(s)),
    s.default !== undefined && !(typeof s.default === "object" && Object.keys(s.default).length === 0) ? code(s.default) : required ? "required" : "",
    escapeCell(notes.length ? `${s.description ?? ""} Rules: ${notes.join("; ")}.` : (s.description ?? "")),
  ];
  out.push(`| ${cells.join(" | ")} |`);
  const child = s.type === "array" ? s.items : s;
  const suffix = s.type === "array" ? "[]" : "";
  const req = new Set<string>(child?.required ?? []);
  for (const [name, sub] of Object.entries<Schema>(child?.properties ?? {})) rows(sub, `${at}${suffix}.${name}`, req.has(name), out);
}

/** The markdown table of one kind's spec or status. */
export function fieldTable(kind: string, part: "spec" | "status"): string {
  const def = KIND_DEFINITIONS.find((d) => d.descriptor.kind === kind);
  if (!def) throw new Error(`docs/api.md asks for fields of ${kind}, which is not a Mooring kind`);
  const root = def.schema as Schema;
  const schema = root.properties?.[part];
  if (!schema) throw new Error(`${kind} has no ${part}`);
  const out = ["| field | type | default | description |", "|---|---|---|---|"];
  const req = new Set<string>(schema.required ?? []);
  for (const [name, sub] of Object.entries<Schema>(schema.properties ?? {})) rows(sub, `${part}.${name}`, req.has(name), out);
  return out.join("\n");
}

const BLOCK = /(<!-- generated:fields (\w+) (spec|status) -->\n)[\s\S]*?(<!-- \/generated -->)/g;

/** docs/api.md with every generated block rewritten from the schemas. */
export function renderApiDoc(markdown: string): string {
  return markdown.replace(BLOCK, (_m, open: string, kind: string, part: "spec" | "status", close: string) => `${open}${fieldTable(kind, part)}\n${close}`);
}

// In-process validation and defaulting with the same schemas the CRDs are generated from. The CLI uses it
// before it sends anything, and each controller, as defence in depth, before it acts on an object.
// ajv does not run CEL, so each CEL rule's TypeScript twin (see schema.ts) runs as an ajv keyword at the
// same place in the document, with the same message: a rule is written once, next to the field it guards.
import { Ajv, type AnySchemaObject, type ErrorObject, type FuncKeywordDefinition, type ValidateFunction } from "ajv";
import type { DataValidateFunction } from "ajv/dist/types/index.js";
import addFormatsModule from "ajv-formats";
import { parseAllDocuments } from "yaml";
import { mooringKindOf } from "./kinds.js";
import { KIND_DEFINITIONS, kindDefinition } from "./crd.js";
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, LOCAL_CHECKS_KEYWORD, PATTERN_HINTS, TS_CHECK, type CheckedCelRule, type LocalCheck } from "./schema.js";
import type { GitRepository } from "./gitrepository.js";
import type { Application } from "./application.js";
import { SYNC_POLICY_API_VERSION, type SyncPolicy, type SyncPolicySpec } from "./syncpolicy.js";
import type { KindDescriptor } from "../runtime/kinds.js";

export type MooringObject = GitRepository | Application | SyncPolicy;

/** One problem with an object: the field (as the API server names it, e.g. spec.dependsOn[0].name) and what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult =
  | { valid: true; /** The object with defaults applied (a copy; the input is not modified). */ object: MooringObject; errors: [] }
  | { valid: false; errors: FieldError[] };

/** Thrown by `assertValid`: the message lists every field error; `errors` has them one by one. */
export class InvalidObjectError extends Error {
  constructor(
    readonly objectRef: string,
    readonly errors: FieldError[],
  ) {
    super(`${objectRef} is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`);
    this.name = "InvalidObjectError";
  }
}

// ajv-formats is CommonJS whose module.exports is the plugin; NodeNext typing sees the namespace object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

interface KeywordError {
  instancePath: string;
  message: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Whether `data` has the JSON type the schema declares (CEL rules only see well-typed values). */
function hasSchemaType(data: unknown, parentSchema: AnySchemaObject): boolean {
  switch (parentSchema.type) {
    case "object":
      return data !== null && typeof data === "object" && !Array.isArray(data);
    case "array":
      return Array.isArray(data);
    case "string":
      return typeof data === "string";
    case "integer":
    case "number":
      return typeof data === "number";
    case "boolean":
      return typeof data === "boolean";
    default:
      return true;
  }
}

/** ".maxDuration" (a CEL fieldPath) → "/maxDuration" (a JSON pointer suffix). */
function fieldPathToPointer(fieldPath: string | undefined): string {
  if (!fieldPath) return "";
  return fieldPath
    .split(".")
    .filter(Boolean)
    .map((p) => `/${p.replace(/~/g, "~0").replace(/\//g, "~1")}`)
    .join("");
}

function checkKeyword(keyword: string, run: (rule: any, data: any) => { ok: boolean; message: string; suffix?: string }[]): FuncKeywordDefinition {
  return {
    keyword,
    schemaType: "array",
    errors: true,
    // After every other keyword, so that defaults are in place (CEL on the API server also sees defaulted objects).
    post: true,
    compile(rules: unknown[], parentSchema: AnySchemaObject) {
      const validate: DataValidateFunction = (data: unknown, ctx) => {
        if (!hasSchemaType(data, parentSchema)) return true;
        const errors: KeywordError[] = [];
        for (const rule of rules) {
          for (const r of run(rule, data)) {
            if (!r.ok) errors.push({ instancePath: (ctx?.instancePath ?? "") + (r.suffix ?? ""), message: r.message, keyword, params: {} });
          }
        }
        validate.errors = errors;
        return errors.length === 0;
      };
      return validate;
    },
  };
}

function safely(check: (self: any) => boolean, self: unknown): boolean {
  try {
    return check(self);
  } catch {
    return false;
  }
}

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: false });
  addFormats(ajv);
  ajv.addVocabulary(["x-kubernetes-list-map-keys", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-map-type"]);
  ajv.addKeyword(
    checkKeyword("x-kubernetes-validations", (rule: CheckedCelRule, data) => [
      { ok: safely(rule[TS_CHECK], data), message: rule.message, suffix: fieldPathToPointer(rule.fieldPath) },
    ]),
  );
  ajv.addKeyword(checkKeyword(LOCAL_CHECKS_KEYWORD, (rule: LocalCheck, data) => [{ ok: safely(rule.check, data), message: rule.message }]));
  // The API server enforces list types: no two items of a set are equal, no two items of a map share their keys.
  ajv.addKeyword({
    keyword: "x-kubernetes-list-type",
    schemaType: "string",
    errors: true,
    post: true,
    compile(listType: string, parentSchema: AnySchemaObject) {
      const keys = (parentSchema["x-kubernetes-list-map-keys"] as string[] | undefined) ?? [];
      const validate: DataValidateFunction = (data: unknown, ctx) => {
        if (!Array.isArray(data) || listType === "atomic") return true;
        const seen = new Map<string, number>();
        const errors: KeywordError[] = [];
        data.forEach((item, i) => {
          const id = listType === "map" ? JSON.stringify(keys.map((k) => (item as Record<string, unknown>)?.[k])) : JSON.stringify(item);
          const first = seen.get(id);
          if (first === undefined) seen.set(id, i);
          else
            errors.push({
              instancePath: `${ctx?.instancePath ?? ""}/${i}`,
              message: listType === "map" ? `duplicate entry: item ${first} has the same ${keys.join(", ")}` : `duplicate value: item ${first} is the same`,
              keyword: "x-kubernetes-list-type",
              params: {},
            });
        });
        validate.errors = errors;
        return errors.length === 0;
      };
      return validate;
    },
  });
  return ajv;
}

const ajv = createAjv();
const validators = new Map<string, ValidateFunction>();

function kindValidator(d: KindDescriptor): ValidateFunction {
  const key = `${d.group}/${d.kind}`;
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(kindDefinition(d).schema);
    validators.set(key, v);
  }
  return v;
}

/** "/spec/dependsOn/0/name" → "spec.dependsOn[0].name", the way the API server names fields. */
export function pointerToField(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${seg}]`;
  }
  return out;
}

function join(field: string, child: string): string {
  return field ? `${field}.${child}` : child;
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const raw of pointer.split("/").slice(1)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return cur;
}

/** One readable error per ajv error, naming the field. */
function toFieldError(e: ErrorObject, root: unknown): FieldError {
  const field = pointerToField(e.instancePath);
  const got = () => describeValue(valueAt(root, e.instancePath));
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case "required":
      return { field: join(field, p.missingProperty), message: "is required" };
    case "additionalProperties":
      return { field: join(field, p.additionalProperty), message: "unknown field (check the spelling; `kubectl explain` lists the fields)" };
    case "enum":
      return { field, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")} (got ${got()})` };
    case "pattern": {
      const hint = PATTERN_HINTS[p.pattern as string];
      return { field, message: hint ? `must be ${hint} (got ${got()})` : `must match the pattern ${p.pattern} (got ${got()})` };
    }
    case "type":
      return { field, message: `must be ${p.type === "integer" ? "an integer" : p.type === "object" || p.type === "array" ? `an ${p.type}` : `a ${p.type}`} (got ${got()})` };
    case "format":
      return { field, message: p.format === "date-time" ? `must be an RFC 3339 date-time such as 2026-01-02T15:04:05Z (got ${got()})` : `must be in ${p.format} format (got ${got()})` };
    case "maxLength":
      return { field, message: `must be at most ${p.limit} characters long` };
    case "minLength":
      return { field, message: p.limit === 1 ? "must not be empty" : `must be at least ${p.limit} characters long` };
    case "maxItems":
      return { field, message: `must have at most ${p.limit} items` };
    case "minItems":
      return { field, message: `must have at least ${p.limit} item${p.limit === 1 ? "" : "s"}` };
    case "maxProperties":
      return { field, message: `must have at most ${p.limit} entries` };
    case "minimum":
    case "maximum":
      return { field, message: `must be ${e.keyword === "minimum" ? "at least" : "at most"} ${p.limit} (got ${got()})` };
    default:
      return { field, message: e.message ?? `is invalid (${e.keyword})` };
  }
}

function metadataErrors(metadata: unknown): FieldError[] {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return [{ field: "metadata", message: "is required and must be an object" }];
  const m = metadata as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (m.name === undefined && m.generateName === undefined) errors.push({ field: "metadata.name", message: "is required (or set metadata.generateName)" });
  if (m.name !== undefined) {
    if (typeof m.name !== "string" || m.name.length > 253 || !new RegExp(DNS1123_SUBDOMAIN).test(m.name)) {
      errors.push({ field: "metadata.name", message: `must be ${PATTERN_HINTS[DNS1123_SUBDOMAIN]}, at most 253 characters (got ${describeValue(m.name)})` });
    }
  }
  if (m.namespace !== undefined && (typeof m.namespace !== "string" || m.namespace.length > 63 || !new RegExp(DNS1123_LABEL).test(m.namespace))) {
    errors.push({ field: "metadata.namespace", message: `must be ${PATTERN_HINTS[DNS1123_LABEL]}, at most 63 characters (got ${describeValue(m.namespace)})` });
  }
  for (const mapField of ["labels", "annotations"] as const) {
    const v = m[mapField];
    if (v === undefined) continue;
    if (v === null || typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
      errors.push({ field: `metadata.${mapField}`, message: "must be a map of strings to strings" });
    }
  }
  return errors;
}

function refOf(obj: Record<string, any>): string {
  const kind = typeof obj.kind === "string" ? obj.kind : "object";
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? obj.metadata?.generateName ?? "<unnamed>";
  return `${kind} ${ns ? `${ns}/` : ""}${name}`;
}

/**
 * Validates a GitRepository, Application or SyncPolicy as the API server would (schema, CEL rules, list types),
 * plus the checks only possible here (cron schedules, semver ranges, time zones). Defaults are applied first,
 * as on the server. The input is not modified; a valid result carries the defaulted copy.
 */
export function validate(obj: unknown): ValidationResult {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return { valid: false, errors: [{ field: "", message: `must be an object (got ${describeValue(obj)})` }] };
  const o = obj as Record<string, unknown>;
  const descriptor = mooringKindOf(o.apiVersion, o.kind);
  if (!descriptor) {
    const known = KIND_DEFINITIONS.map((d) => `${d.descriptor.group}/${d.descriptor.version} ${d.descriptor.kind}`).join(", ");
    const field = KIND_DEFINITIONS.some((d) => d.descriptor.kind === o.kind) ? "apiVersion" : "kind";
    return { valid: false, errors: [{ field, message: `${describeValue(o.apiVersion)} ${describeValue(o.kind)} is not a Mooring kind; the kinds are ${known}` }] };
  }
  const copy = structuredClone(o);
  const errors = metadataErrors(copy.metadata);
  const v = kindValidator(descriptor);
  if (!v(copy)) {
    for (const e of v.errors ?? []) {
      // metadata is checked above, with the API server's words.
      if (e.instancePath === "" && e.keyword === "required" && (e.params as { missingProperty?: string }).missingProperty === "metadata") continue;
      errors.push(toFieldError(e, copy));
    }
  }
  if (errors.length) return { valid: false, errors: dedupe(errors) };
  return { valid: true, object: copy as unknown as MooringObject, errors: [] };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Returns the defaulted object, or throws InvalidObjectError naming every invalid field. */
export function assertValid<T extends MooringObject>(obj: T): T;
export function assertValid(obj: unknown): MooringObject;
export function assertValid(obj: unknown): MooringObject {
  const r = validate(obj);
  if (!r.valid) throw new InvalidObjectError(obj && typeof obj === "object" ? refOf(obj as Record<string, any>) : "object", r.errors);
  return r.object;
}

/**
 * A copy of the object with every schema default filled in, as the API server stores it. Invalid parts are
 * left as they are (validate() reports them). Objects of other kinds are returned unchanged (copied).
 */
export function applyDefaults<T>(obj: T): T {
  const copy = structuredClone(obj);
  if (copy && typeof copy === "object") {
    const o = copy as Record<string, unknown>;
    const descriptor = mooringKindOf(o.apiVersion, o.kind);
    if (descriptor) kindValidator(descriptor)(copy);
  }
  return copy;
}

/** The spec an Application without a syncPolicyRef behaves as if it had: every SyncPolicy default. */
export function defaultSyncPolicySpec(): SyncPolicySpec {
  const policy: SyncPolicy = { apiVersion: SYNC_POLICY_API_VERSION, kind: "SyncPolicy", metadata: { name: "default" }, spec: {} };
  return applyDefaults(policy).spec!;
}

/** The result of validating one document of a YAML stream. */
export interface DocumentResult {
  /** 0-based position of the document in the stream. */
  index: number;
  /** "GitRepository team/podinfo", or "document 3" when it has no kind. */
  ref: string;
  /** false for documents that are not Mooring kinds (a ConfigMap next to an Application): not checked. */
  checked: boolean;
  errors: FieldError[];
}

/**
 * Validates every Mooring object in a YAML stream (what `mooring validate -f FILE` needs): YAML syntax errors
 * are reported on the document they break, other kinds are skipped.
 */
export function validateYaml(text: string): DocumentResult[] {
  return parseAllDocuments(text).flatMap((doc, index): DocumentResult[] => {
    if (doc.errors.length) return [{ index, ref: `document ${index + 1}`, checked: true, errors: doc.errors.map((e) => ({ field: "", message: `YAML: ${e.message}` })) }];
    const obj = doc.toJS() as unknown;
    if (obj === null || obj === undefined) return [];
    const o = obj as Record<string, any>;
    const ref = typeof o.kind === "string" ? refOf(o) : `document ${index + 1}`;
    const isMooring = typeof o.apiVersion === "string" && /(^|\.)mooring\.dev\//.test(o.apiVersion);
    if (!isMooring) return [{ index, ref, checked: false, errors: [] }];
    return [{ index, ref, checked: true, errors: validate(obj).errors }];
  });
}

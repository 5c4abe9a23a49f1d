// Building blocks for Mooring's schemas. Every kind is written once with TypeBox: `Static<>` gives the
// TypeScript type, the same object is emitted (after removing what structural CRD schemas forbid) as the CRD's
// openAPIV3Schema, and ajv validates it in process. Cross-field rules are CEL `x-kubernetes-validations` for
// the API server, each paired here with a TypeScript twin so the in-process validator applies the same rule
// with the same message.
import { Type, type TSchema, type TProperties, type SchemaOptions, type Static } from "@sinclair/typebox";
import type { ObjectMeta } from "../runtime/kinds.js";
import { DURATION_PATTERN, tryParseDuration, formatDuration } from "./duration.js";

/** A CEL rule as the API server reads it (apiextensions.k8s.io/v1 ValidationRule). */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath-like path (relative to the rule's scope) the error is reported at, e.g. ".maxDuration". */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** Where a rule's TypeScript twin is kept: a symbol key, so it never reaches the emitted CRD. */
export const TS_CHECK: unique symbol = Symbol("mooring.tsCheck");

export interface CheckedCelRule extends CelRule {
  [TS_CHECK]: (self: any) => boolean;
}

/**
 * A cross-field rule: `rule` runs on the API server, `check` (same meaning, returns true when valid) runs in
 * `validate()`. The check only runs on values that already have the right JSON type, like CEL does.
 */
export function cel(rule: string, message: string, check: (self: any) => boolean, extra: Pick<CelRule, "fieldPath" | "reason"> = {}): CheckedCelRule {
  return { rule, message, ...extra, [TS_CHECK]: check };
}

/**
 * A rule the API server cannot express (cron syntax, semver ranges, IANA time zones): the in-process validator
 * applies it, the controller reports it as a Stalled condition when an object reaches the cluster anyway.
 * The keyword is removed from the emitted CRD.
 */
export interface LocalCheck {
  message: string;
  check: (self: any) => boolean;
}
export const LOCAL_CHECKS_KEYWORD = "x-mooring-checks";

// ---- patterns (with the words the validator uses instead of the raw regular expression) ----

export const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const GIT_SHA1 = "^[0-9a-f]{40}$";
export const SHA256_DIGEST = "^sha256:[0-9a-f]{64}$";
/** `<ref>@sha1:<40 hex>` (a branch, tag or ref name, then the commit), or `sha1:<40 hex>` for a bare commit. */
export const GIT_REVISION = "^([^@\\s]+@)?sha1:[0-9a-f]{40}$";
export const CONDITION_TYPE = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
export const CONDITION_REASON = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/** A git branch or tag name: no spaces and none of the characters git forbids in ref names. */
export const GIT_REF_NAME = "^[^\\s~^:?*\\[\\\\]+$";
export const FULL_GIT_REF = "^refs/[^\\s~^:?*\\[\\\\]+$";
export const CRON_SCHEDULE = "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+( +\\S+){4})$";
export const JSON_POINTER = "^(/([^~/]|~[01])*)+$";
export const SUBSTITUTE_VARIABLE = "^[_a-zA-Z][_a-zA-Z0-9]*$";
export const CONFIG_KEY = "^[-._a-zA-Z0-9]+$";
export const INVENTORY_ID = "^[^_]*_[^_]+_[^_]*_[^_]+$";

/** Human words for each pattern, used by the in-process validator's messages. */
export const PATTERN_HINTS: Record<string, string> = {
  [DURATION_PATTERN]: "a duration such as 30s, 5m or 1h30m (units ms, s, m, h)",
  [DNS1123_SUBDOMAIN]: "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  [DNS1123_LABEL]: "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  [GIT_SHA1]: "a full commit SHA: 40 lowercase hexadecimal characters",
  [SHA256_DIGEST]: "a digest of the form sha256:<64 lowercase hex characters>",
  [GIT_REVISION]: "a revision of the form <ref>@sha1:<40 hex> or sha1:<40 hex>",
  [CONDITION_TYPE]: "a condition type in CamelCase, optionally prefixed with a DNS subdomain and '/'",
  [CONDITION_REASON]: "a CamelCase reason: letters, digits, '_', ',' and ':', starting with a letter",
  [GIT_REF_NAME]: "a git branch or tag name (no spaces, ~, ^, :, ?, *, [ or \\)",
  [FULL_GIT_REF]: "a full git reference starting with refs/, such as refs/pull/1/head",
  [CRON_SCHEDULE]: "a cron schedule with 5 fields, such as '0 22 * * 1-5', or a macro such as @daily",
  [JSON_POINTER]: "a JSON pointer such as /spec/replicas",
  [SUBSTITUTE_VARIABLE]: "a variable name: letters, digits and '_', not starting with a digit",
  [CONFIG_KEY]: "a ConfigMap or Secret key: letters, digits, '-', '_' and '.'",
  [INVENTORY_ID]: "an inventory id <namespace>_<name>_<group>_<Kind>",
};

// ---- field builders ----

type Opts = SchemaOptions;

/** A string field. Every string is length-bounded: the API server needs bounds to estimate CEL rule cost. */
export function Str(description: string, maxLength: number, opts: Opts = {}) {
  return Type.String({ description, maxLength, ...opts });
}

/** A string restricted to `values` (JSON Schema `enum`, which `kubectl explain` lists; CRDs do not allow `const`). */
export function StrEnum<const T extends readonly string[]>(values: T, description: string, opts: Opts = {}) {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values], description, ...opts });
}

export function Bool(description: string, defaultValue?: boolean) {
  return Type.Boolean(defaultValue === undefined ? { description } : { description, default: defaultValue });
}

export function Int(description: string, opts: Opts = {}) {
  return Type.Integer({ description, format: "int64", ...opts });
}

export function Int32(description: string, opts: Opts = {}) {
  return Type.Integer({ description, format: "int32", ...opts });
}

/** A Kubernetes object name (DNS-1123 subdomain, up to 253 characters). */
export function DnsName(description: string) {
  return Type.String({ description, maxLength: 253, minLength: 1, pattern: DNS1123_SUBDOMAIN });
}

/** A namespace name or other DNS-1123 label (up to 63 characters). */
export function DnsLabel(description: string) {
  return Type.String({ description, maxLength: 63, minLength: 1, pattern: DNS1123_LABEL });
}

export function Time(description: string) {
  return Type.String({ description, format: "date-time", maxLength: 64 });
}

/**
 * A duration string with bounds. The bounds are CEL rules (JSON Schema cannot compare durations); their
 * messages say the bound in words so a user knows what to write.
 */
export function Duration(description: string, bounds: { default?: string; min?: string; max?: string; field: string }) {
  const rules: CheckedCelRule[] = [];
  const { min, max, field } = bounds;
  // Only compare values that are durations: the pattern already reports the others, and duration() on them
  // would add a confusing "type conversion error" to the message.
  const guard = `!self.matches('${DURATION_PATTERN.replace(/\\/g, "\\\\")}') || `;
  if (min !== undefined) {
    const minMs = tryParseDuration(min)!;
    rules.push(cel(`${guard}duration(self) >= duration('${min}')`, `${field} must be at least ${formatDuration(minMs)}`, (self: string) => (tryParseDuration(self) ?? minMs) >= minMs));
  }
  if (max !== undefined) {
    const maxMs = tryParseDuration(max)!;
    rules.push(cel(`${guard}duration(self) <= duration('${max}')`, `${field} must be at most ${formatDuration(maxMs)}`, (self: string) => (tryParseDuration(self) ?? maxMs) <= maxMs));
  }
  const opts: Opts = { description, maxLength: 32, pattern: DURATION_PATTERN };
  if (bounds.default !== undefined) opts.default = bounds.default;
  if (rules.length) opts["x-kubernetes-validations"] = rules;
  return Type.String(opts);
}

/** A map of strings to strings (`additionalProperties`, the structural form; TypeBox's Record would emit patternProperties). */
export function StringMap(description: string, opts: Opts = {}) {
  return Type.Unsafe<Record<string, string>>({ type: "object", description, additionalProperties: { type: "string", maxLength: 65536 }, ...opts });
}

/** A free-form object kept as written (Helm values): the API server must not prune unknown fields inside it. */
export function FreeForm(description: string) {
  return Type.Unsafe<Record<string, unknown>>({ type: "object", description, "x-kubernetes-preserve-unknown-fields": true });
}

/** A list of objects. Lists are bounded for the same cost reason as strings. */
export function List<T extends TSchema>(items: T, description: string, maxItems: number, opts: Opts = {}) {
  return Type.Array(items, { description, maxItems, ...opts });
}

/** An object that rejects unknown fields in process; the API server rejects them under `kubectl apply`'s strict field validation. */
export function Obj<P extends TProperties>(properties: P, description: string, opts: Opts = {}) {
  return Type.Object(properties, { description, additionalProperties: false, ...opts });
}

export const Optional = Type.Optional;

// ---- shared shapes ----

/** metav1.Condition, field for field, so kstatus-aware tools and `kubectl wait --for=condition=` read it. */
export const Condition = Obj(
  {
    type: Type.String({ description: "Type of the condition, in CamelCase (Ready, Reconciling, Stalled, ...).", maxLength: 316, pattern: CONDITION_TYPE }),
    status: StrEnum(["True", "False", "Unknown"] as const, "Status of the condition: True, False or Unknown."),
    observedGeneration: Optional(Int("The .metadata.generation the condition was set for; older than the object's generation means the condition is stale.", { minimum: 0 })),
    lastTransitionTime: Time("When the condition last changed status."),
    reason: Type.String({ description: "A CamelCase word saying why the condition has its status, for programs to match on.", maxLength: 1024, minLength: 1, pattern: CONDITION_REASON }),
    message: Str("A human-readable explanation of the condition.", 32768),
  },
  "A condition: one aspect of the object's state, as observed by a controller.",
);
export type Condition = Static<typeof Condition>;

/**
 * status.conditions: a list-map keyed by `type`, so each controller can own its own conditions with
 * server-side apply without overwriting the others'.
 */
export function Conditions(description: string) {
  return List(Condition, description, 32, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });
}

export function ObservedGeneration() {
  return Int("The .metadata.generation the controller last finished handling; status is current when it equals .metadata.generation.", { minimum: 0 });
}

export function LastHandledReconcileAt() {
  return Str("The last value of the mooring.dev/reconcile-requested-at annotation the controller handled; compared for equality, never parsed.", 256);
}

/** Root fields every Mooring object has. `metadata` stays `type: object`: the API server validates it itself. */
export function rootFields<const G extends string, const K extends string>(apiVersion: G, kind: K) {
  return {
    apiVersion: Type.Unsafe<G>({ type: "string", description: `APIVersion of this object: ${apiVersion}.` }),
    kind: Type.Unsafe<K>({ type: "string", description: `Kind of this object: ${kind}.` }),
    // Only `type: object`: the API server forbids anything else here (even a description) and documents
    // metadata itself as ObjectMeta.
    metadata: Type.Unsafe<ObjectMeta>({ type: "object" }),
  };
}

/** Object metadata as the runtime reads it (one definition for the API and the runtime). */
export type { ObjectMeta } from "../runtime/kinds.js";

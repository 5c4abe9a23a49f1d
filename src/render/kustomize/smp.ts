// Strategic merge patch as Kustomize applies it: maps merge recursively, `null` deletes a key, lists of the
// built-in kinds merge by their patch merge key (containers by name, ports by containerPort/port, …), other lists
// are replaced, and `$patch: delete|replace` directives act on maps and list items. Merged lists put the patch's
// items first (in patch order), then the target's remaining items — the order `kubectl kustomize` produces; duplicate
// keys, items without a key and lists keyed by a pair follow kyaml's filters (assoc.ts).
import { groupOf, isMap, type JsonMap } from "../objects.js";
import type { CustomSchema } from "./openapi.js";
import { mergeAssociative, type MergeItem } from "./assoc.js";
import { carryShared, writeShared } from "./shared.js";

export const DELETE = Symbol("delete");

/** Groups whose kinds have OpenAPI merge keys in Kustomize's built-in schema; custom resources replace lists. */
const BUILTIN_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "policy",
  "autoscaling",
  "networking.k8s.io",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "scheduling.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "extensions",
]);

const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  volumes: "name",
  imagePullSecrets: "name",
  hostAliases: "ip",
  ownerReferences: "uid",
  resourceClaims: "name",
  conditions: "type",
  resizePolicy: "resourceName",
  schedulingGates: "name",
};

/** The list's merge keys: one, or two for Kubernetes list-maps keyed by a pair (ports by port and protocol, …). */
function mergeKeys(apiVersion: string, kind: string, path: readonly string[]): string[] | undefined {
  if (!BUILTIN_GROUPS.has(groupOf(apiVersion))) return undefined;
  const field = path[path.length - 1]!;
  if (field === "ports") {
    if (path.includes("containers") || path.includes("initContainers") || path.includes("ephemeralContainers")) return ["containerPort", "protocol"];
    if (kind === "Service" && path.length === 2 && path[0] === "spec") return ["port", "protocol"];
    return undefined;
  }
  if (field === "topologySpreadConstraints") return ["topologyKey", "whenUnsatisfiable"];
  const key = MERGE_KEYS[field];
  return key === undefined ? undefined : [key];
}

export interface SmpContext {
  apiVersion: string;
  kind: string;
  /** A kustomization's `openapi` schema: when set, it alone decides how lists merge (as in Kustomize). */
  schema?: CustomSchema;
}

/**
 * Applies `patch` to `target`; returns DELETE when the patch deletes the whole value. Neither is modified, except a
 * scalar of the target shared with other fields (shared.ts), which is written in place as kyaml does.
 */
export function strategicMerge(target: unknown, patch: unknown, ctx: SmpContext, path: string[] = []): unknown {
  if (isMap(patch)) {
    const directive = patch.$patch;
    if (directive === "delete") return DELETE;
    if (directive === "replace") return stripDirectives(patch);
    if (!isMap(target)) return stripDirectives(patch);
    // kyaml walks the whole target, not only what the patch names: lists the patch leaves alone are normalized too.
    const out: JsonMap = {};
    for (const [k, tv] of Object.entries(target)) out[k] = k in patch ? tv : normalize(tv, ctx, [...path, k]);
    let deletedSome = false;
    for (const [k, pv] of Object.entries(patch)) {
      if (k.startsWith("$")) continue;
      if (pv === null) {
        deletedSome = deletedSome || k in out;
        delete out[k];
        continue;
      }
      const merged = strategicMerge(target[k], pv, ctx, [...path, k]);
      if (merged === DELETE) delete out[k];
      else out[k] = merged;
      // kyaml's merge writes a scalar into the target's existing node: fields sharing it change too (shared.ts).
      if (merged !== DELETE && target[k] !== undefined) writeShared(target, k, merged);
    }
    carryShared(target, out);
    // Kustomize drops the object's annotations when its patch emptied them by deleting keys (annotations: {team:
    // null}); any other map emptied that way stays, empty (data: {}, labels: {}, a template's annotations: {}).
    if (deletedSome && Object.keys(out).length === 0 && path.length === 2 && path[0] === "metadata" && path[1] === "annotations") return DELETE;
    return out;
  }
  if (Array.isArray(patch)) {
    // A `- $patch: replace` item makes the patch's other items the whole list.
    if (patch.some((e) => isMap(e) && e.$patch === "replace")) return stripDirectives(patch);
    const keys = listKeys(ctx, path);
    if (keys === "set" && Array.isArray(target)) return mergeSet(target, patch);
    if (keys === undefined || keys === "set" || !Array.isArray(target)) {
      return patch.filter((e) => !(isMap(e) && e.$patch === "delete")).map(stripDirectives);
    }
    return mergeAssociative(target, patch, keys, itemMerger(ctx, path));
  }
  return patch;
}

/** How the list at `path` merges: by these keys, as a set of scalars, or (undefined) replaced. */
function listKeys(ctx: SmpContext, path: readonly string[]): string[] | "set" | undefined {
  if (ctx.schema) {
    const st = ctx.schema.listStrategy(ctx.apiVersion, ctx.kind, [...path]);
    if (st.strategy !== "merge") return undefined;
    return st.keys.length === 0 ? "set" : st.keys;
  }
  // metadata.finalizers is a set (patch strategy "merge"): the patch's values, then the target's others.
  if (BUILTIN_GROUPS.has(groupOf(ctx.apiVersion)) && path.length === 2 && path[0] === "metadata" && path[1] === "finalizers") return "set";
  return mergeKeys(ctx.apiVersion, ctx.kind, path);
}

/**
 * A part of the target the patch does not name, as kyaml's merge leaves it (it walks the whole target): lists with
 * merge keys go through the same associative merge, with an empty patch; other values are unchanged.
 */
function normalize(v: unknown, ctx: SmpContext, path: string[]): unknown {
  if (isMap(v)) {
    const out: JsonMap = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x, ctx, [...path, k]);
    carryShared(v, out);
    return out;
  }
  if (!Array.isArray(v)) return v;
  const keys = listKeys(ctx, path);
  if (keys === undefined || keys === "set") return v;
  return mergeAssociative(v, [], keys, itemMerger(ctx, path));
}

/** How two items of a merge-keyed list merge (either may be missing); undefined when the result is deleted. */
function itemMerger(ctx: SmpContext, path: string[]): MergeItem {
  return (te, pe) => {
    if (pe === undefined) return te === undefined ? undefined : normalize(te, ctx, path);
    if (te === undefined) return isMap(pe) && pe.$patch === "delete" ? undefined : stripDirectives(pe);
    const merged = strategicMerge(te, pe, ctx, path);
    return merged === DELETE ? undefined : merged;
  };
}

function mergeSet(target: unknown[], patch: unknown[]): unknown[] {
  const out = [...new Set(patch)];
  for (const t of target) if (!out.includes(t)) out.push(t);
  return out;
}

export function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isMap(e) && (e.$patch === "delete" || e.$patch === "replace"))).map(stripDirectives);
  if (isMap(v)) {
    const out: JsonMap = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith("$") || x === null) continue;
      out[k] = stripDirectives(x);
    }
    return out;
  }
  return v;
}

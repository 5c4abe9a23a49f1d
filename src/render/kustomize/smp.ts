// Strategic merge patch as Kustomize applies it: maps merge recursively, `null` deletes a key, lists of the
// built-in kinds merge by their patch merge key (containers by name, ports by containerPort/port, …), other lists
// are replaced, and `$patch: delete|replace` directives act on maps and list items. Merged lists put the patch's
// items first (in patch order), then the target's remaining items — the order `kubectl kustomize` produces; lists
// keyed by a pair of fields follow kyaml's own rules (mergeMultiKey).
import { groupOf, isMap, type JsonMap } from "../objects.js";
import type { CustomSchema } from "./openapi.js";
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

const has = (e: JsonMap, k: string): boolean => e[k] !== undefined && e[k] !== null && e[k] !== "";

/**
 * Two-key lists where some item carries both keys, as Kustomize (kyaml) merges them: a patch item whose keys equal a
 * target item's (same keys present, same values) merges into it in place; one that agrees with a target item on the
 * keys both carry but not on all is dropped; any other is new, and new items go first, in patch order.
 */
function mergeMultiKey(target: unknown[], patch: unknown[], keys: string[], ctx: SmpContext, path: string[]): unknown[] {
  const out = [...target];
  const added: unknown[] = [];
  for (const pe of patch) {
    if (!isMap(pe)) {
      added.push(stripDirectives(pe));
      continue;
    }
    const pk = keys.filter((k) => has(pe, k));
    let exact = -1;
    let partial = false;
    out.forEach((te, i) => {
      if (!isMap(te) || exact >= 0) return;
      const common = pk.filter((k) => has(te, k));
      if (common.length === 0 || common.some((k) => String(te[k]) !== String(pe[k]))) return;
      const tk = keys.filter((k) => has(te, k));
      if (tk.length === pk.length && common.length === pk.length) exact = i;
      else partial = true;
    });
    if (exact >= 0) {
      if (pe.$patch === "delete") {
        out.splice(exact, 1);
        continue;
      }
      const merged = strategicMerge(out[exact], pe, ctx, path);
      if (merged === DELETE) out.splice(exact, 1);
      else out[exact] = merged;
    } else if (!partial && pe.$patch !== "delete") {
      added.push(stripDirectives(pe));
    }
  }
  return [...added, ...out];
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
    if (keys.length > 1 && [...target, ...patch].some((e) => isMap(e) && keys.every((k) => has(e, k)))) {
      return mergeMultiKey(target, patch, keys, ctx, path);
    }
    // As kyaml merges a list with one merge key: one element per key value, the patch's keys first (in patch order;
    // a second patch element with a key already seen is ignored), then the target's. A key the target holds once
    // merges with the patch's element; a key it holds several times comes out as its last duplicate, as it was
    // (kyaml merges into the first and then overwrites it with each duplicate in turn), at the first one's place.
    const key = keys[0]!;
    const kv = (e: unknown): string | undefined => (isMap(e) && e[key] !== undefined && e[key] !== null ? String(e[key]) : undefined);
    const dupsOf = (k: string): unknown[] => target.filter((te) => kv(te) === k);
    const out: unknown[] = [];
    const handled = new Set<string>();
    for (const pe of patch) {
      const k = kv(pe);
      if (k === undefined) {
        out.push(stripDirectives(pe));
        continue;
      }
      if (handled.has(k)) continue;
      handled.add(k);
      if ((pe as JsonMap).$patch === "delete") continue;
      const dups = dupsOf(k);
      const merged = dups.length === 0 ? stripDirectives(pe) : dups.length > 1 ? dups[dups.length - 1] : strategicMerge(dups[0], pe, ctx, path);
      if (merged !== DELETE) out.push(merged);
    }
    for (const te of target) {
      const k = kv(te);
      if (k === undefined) {
        out.push(te);
        continue;
      }
      if (handled.has(k)) continue;
      handled.add(k);
      const dups = dupsOf(k);
      out.push(dups.length > 1 ? dups[dups.length - 1] : normalize(te, ctx, path));
    }
    return out;
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
 * one merge key hold one element per key value (the last duplicate, as it was, at the first one's place); other
 * values are unchanged. Lists keyed by a pair, sets and replaced lists are left as they are.
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
  if (keys === undefined || keys === "set" || (keys.length > 1 && v.some((e) => isMap(e) && keys.every((k) => has(e, k))))) return v;
  return strategicMerge(v, [], ctx, path);
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

// Strategic merge patch as Kustomize applies it: maps merge recursively, `null` deletes a key, lists of the
// built-in kinds merge by their patch merge key (containers by name, ports by containerPort/port, …), other lists
// are replaced, and `$patch: delete|replace` directives act on maps and list items. Merged lists put the patch's
// items first (in patch order), then the target's remaining items — the order `kubectl kustomize` produces; lists
// keyed by a pair of fields follow kyaml's own rules (mergeMultiKey).
import { groupOf, isMap, type JsonMap } from "../objects.js";
import type { CustomSchema } from "./openapi.js";

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

/** Applies `patch` to `target` (neither is modified); returns DELETE when the patch deletes the whole value. */
export function strategicMerge(target: unknown, patch: unknown, ctx: SmpContext, path: string[] = []): unknown {
  if (isMap(patch)) {
    const directive = patch.$patch;
    if (directive === "delete") return DELETE;
    if (directive === "replace") return stripDirectives(patch);
    if (!isMap(target)) return stripDirectives(patch);
    const out: JsonMap = { ...target };
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
    }
    // Kustomize drops a map that its patch emptied by deleting keys (annotations: {team: null}).
    if (deletedSome && Object.keys(out).length === 0 && path.length > 0) return DELETE;
    return out;
  }
  if (Array.isArray(patch)) {
    // A `- $patch: replace` item makes the patch's other items the whole list.
    if (patch.some((e) => isMap(e) && e.$patch === "replace")) return stripDirectives(patch);
    let keys: string[] | undefined;
    if (ctx.schema) {
      const st = ctx.schema.listStrategy(ctx.apiVersion, ctx.kind, path);
      if (st.strategy === "merge" && st.keys.length === 0 && Array.isArray(target)) return mergeSet(target, patch);
      keys = st.strategy === "merge" ? st.keys : undefined;
    } else {
      // metadata.finalizers is a set (patch strategy "merge"): the patch's values, then the target's others.
      if (BUILTIN_GROUPS.has(groupOf(ctx.apiVersion)) && path.length === 2 && path[0] === "metadata" && path[1] === "finalizers" && Array.isArray(target)) {
        return mergeSet(target, patch);
      }
      keys = mergeKeys(ctx.apiVersion, ctx.kind, path);
    }
    if (keys === undefined || !Array.isArray(target)) {
      return patch.filter((e) => !(isMap(e) && e.$patch === "delete")).map(stripDirectives);
    }
    if (keys.length > 1 && [...target, ...patch].some((e) => isMap(e) && keys.every((k) => has(e, k)))) {
      return mergeMultiKey(target, patch, keys, ctx, path);
    }
    const key = keys[0]!;
    const out: unknown[] = [];
    const consumed = new Set<unknown>();
    for (const pe of patch) {
      if (!isMap(pe) || pe[key] === undefined) {
        out.push(stripDirectives(pe));
        continue;
      }
      const match = target.find((te) => isMap(te) && te[key] === pe[key] && !consumed.has(te));
      if (match !== undefined) consumed.add(match);
      if (pe.$patch === "delete") continue;
      const merged = match === undefined ? stripDirectives(pe) : strategicMerge(match, pe, ctx, path);
      if (merged !== DELETE) out.push(merged);
    }
    for (const te of target) if (!consumed.has(te)) out.push(te);
    return out;
  }
  return patch;
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

// The order of a build's output: Kustomize's sortOptions (legacy, the default, or fifo) at the top kustomization.
import { RenderError } from "../errors.js";
import { isMap, type KubeObject } from "../objects.js";
import type { Kust } from "./context.js";
import { checkKeys, stringList } from "./fields.js";
import { LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST } from "./fieldspecs.js";
import { curId, newRes, type Res } from "./resource.js";

/** The output in the order the top kustomization's sortOptions asks for (legacy when it names none). */
export function sortResources(res: Res[], top: Kust): Res[] {
  const so = top.k.sortOptions;
  if (so === undefined || so === null) return sortLegacy(res, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST);
  if (!isMap(so)) throw new RenderError('"sortOptions" must be a map', { file: top.file });
  checkKeys(so, ["order", "legacySortOptions"], top.file, "sortOptions");
  const order = so.order;
  if (order !== "legacy" && order !== "fifo") throw new RenderError("the field 'sortOptions.order' must be one of [fifo, legacy]", { file: top.file });
  const lso = so.legacySortOptions;
  if (order === "fifo") {
    if (lso !== undefined && lso !== null) throw new RenderError("the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'", { file: top.file });
    return res;
  }
  if (lso === undefined || lso === null) return sortLegacy(res, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST);
  if (!isMap(lso)) throw new RenderError('"sortOptions.legacySortOptions" must be a map', { file: top.file });
  checkKeys(lso, ["orderFirst", "orderLast"], top.file, "sortOptions.legacySortOptions");
  return sortLegacy(res, stringList(lso.orderFirst, top.file, "orderFirst"), stringList(lso.orderLast, top.file, "orderLast"));
}

function sortLegacy(res: Res[], first: readonly string[], last: readonly string[]): Res[] {
  const orders = new Map<string, number>();
  first.forEach((k, i) => orders.set(k, -first.length + i));
  last.forEach((k, i) => orders.set(k, 1 + i));
  const gvkString = (g: string, v: string, k: string): string => `${g || "~G"}_${v || "~V"}_${k || "~K"}`;
  const keyed = res.map((r, i) => {
    const id = curId(r);
    return { r, i, id, rank: orders.get(id.kind) ?? 0, gvk: gvkString(id.group, id.version, id.kind), rest: `${id.namespace || "~X"}|${id.name || "~N"}` };
  });
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  keyed.sort((a, b) => {
    const sameGvk = a.id.group === b.id.group && a.id.version === b.id.version && a.id.kind === b.id.kind;
    if (!sameGvk) {
      if (a.rank !== b.rank) return a.rank - b.rank;
      if (a.id.kind === "Namespace" && b.id.kind === "Namespace" && (a.id.group === "" || b.id.group === "")) return -cmp(a.gvk, b.gvk);
      return cmp(a.gvk, b.gvk);
    }
    return cmp(a.rest, b.rest) || a.i - b.i;
  });
  return keyed.map((k) => k.r);
}

/**
 * Kustomize's "legacy" order: well-known kinds first (namespaces before what lives in them), webhooks last, the rest
 * by "group_version_kind" (a missing group sorts as "~G", after every letter), then namespace and name.
 */
export function legacySort(objs: KubeObject[]): KubeObject[] {
  return sortLegacy(
    objs.map((o) => newRes(o, "")),
    LEGACY_ORDER_FIRST,
    LEGACY_ORDER_LAST,
  ).map((r) => r.obj);
}

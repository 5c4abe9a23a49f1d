// Name references (Kustomize's nameReference transformer): after prefixes, suffixes, namespaces and content hashes
// changed names, every field that refers to a renamed object by its old name is rewritten, following the
// `nameReference` rules of the transformer configuration (built-in plus `configurations:` and `crds:`).
import { RenderError } from "../errors.js";
import { isMap, type JsonMap, type ScopeResolver } from "../objects.js";
import { slotGet, slotSet, visitFieldSpec, type FieldSpec, type Gvk, type NameBackRef, type Slot } from "./fieldspecs.js";
import { curId, describeRes, effectiveNs, idSelected, idString, orgId, prevIds, type Res, type ResId } from "./resource.js";

function sameEndingSubSlice(a: string[], b: string[]): boolean {
  let shortest = a;
  let longest = b;
  if (shortest.length > longest.length) [shortest, longest] = [longest, shortest];
  const diff = longest.length - shortest.length;
  if (shortest.length === 0) return diff === 0;
  for (let i = shortest.length - 1; i >= 0; i--) if (longest[i + diff] !== shortest[i]) return false;
  return true;
}

function affixesEqual(r: Res, o: Res, allowEmpty: boolean): boolean {
  if (allowEmpty) {
    const p = r.prefixes.length === 0 || o.prefixes.length === 0 || sameEndingSubSlice(r.prefixes, o.prefixes);
    const s = r.suffixes.length === 0 || o.suffixes.length === 0 || sameEndingSubSlice(r.suffixes, o.suffixes);
    return p && s;
  }
  return sameEndingSubSlice(r.prefixes, o.prefixes) && sameEndingSubSlice(r.suffixes, o.suffixes);
}

interface Filter {
  spec: FieldSpec;
  target: Gvk;
}

/** Ids computed once: the name-reference pass changes fields, never metadata. */
interface Index {
  cur: Map<Res, ResId>;
  org: Map<Res, ResId>;
  prev: Map<Res, ResId[]>;
  /** Resources by every previous name (candidates must have had the referred name). */
  byPrevName: Map<string, Res[]>;
}

function buildIndex(res: Res[], scope?: ScopeResolver): Index {
  const idx: Index = { cur: new Map(), org: new Map(), prev: new Map(), byPrevName: new Map() };
  for (const r of res) {
    idx.cur.set(r, curId(r, scope));
    idx.org.set(r, orgId(r, scope));
    const prev = prevIds(r);
    idx.prev.set(r, prev);
    for (const name of new Set(prev.map((p) => p.name))) {
      const list = idx.byPrevName.get(name);
      if (list) list.push(r);
      else idx.byPrevName.set(name, [r]);
    }
  }
  return idx;
}

/** Whether a referrer could refer to a resource: cluster-scoped, same namespace, or a RoleBinding subject's namespace. */
function referable(referrer: Res, idx: Index): (t: Res) => boolean {
  const rid = idx.cur.get(referrer)!;
  if (rid.clusterScoped) return () => true;
  const bindingNs = new Set<string>();
  if (referrer.obj.kind === "RoleBinding" && Array.isArray(referrer.obj.subjects)) {
    for (const s of referrer.obj.subjects) {
      if (isMap(s) && s.kind === "ServiceAccount" && typeof s.namespace === "string") bindingNs.add(s.namespace);
    }
  }
  const ns = effectiveNs(rid);
  return (t) => {
    const id = idx.cur.get(t)!;
    return id.clusterScoped || effectiveNs(id) === ns || bindingNs.has(id.namespace);
  };
}

/**
 * Updates every name reference to a renamed object. Like Kustomize, it visits every reference field of every object
 * even when nothing was renamed: a malformed one (a list or a string where the path expects a map, a map without
 * `name`) is refused whatever the build renamed.
 */
export function fixNameReferences(res: Res[], rules: NameBackRef[], file: string, scope?: ScopeResolver): void {
  const idx = buildIndex(res, scope);
  const filters = new Map<Res, Filter[]>();
  for (const rule of rules) {
    for (const spec of rule.fieldSpecs) {
      for (const r of res) {
        if (!idSelected(idx.org.get(r)!, spec)) continue;
        const list = filters.get(r) ?? [];
        list.push({ spec, target: rule });
        filters.set(r, list);
      }
    }
  }
  for (const [referrer, list] of filters) {
    const canRefer = referable(referrer, idx);
    for (const f of list) {
      // The filter matches the referrer whatever its current group/version/kind (Kustomize sets the spec's gvk to it).
      try {
        visitFieldSpec(referrer.obj, { path: f.spec.path }, undefined, (s) => updateRef(s, { referrer, f, canRefer, idx, file }));
      } catch (err) {
        if (err instanceof RenderError || !(err instanceof Error)) throw err;
        throw malformed(referrer, f, err);
      }
    }
  }
}

/** A reference field that is not the shape its path says (thrown while visiting; malformed() says where). */
class MalformedRef extends Error {}

function malformed(referrer: Res, f: Filter, err: Error): RenderError {
  const { kind } = f.target;
  const want = /name$/i.test(f.spec.path) ? `the ${kind}'s name as a string` : `maps with the ${kind}'s name under "name"`;
  return new RenderError(
    `${describeRes(referrer)}: the ${kind} name reference at ${f.spec.path} is malformed (${err.message}); ` +
      `kubectl kustomize refuses it too, even when no name changes; write the field as Kubernetes defines it (${want} at ${f.spec.path})`,
    { file: referrer.file, line: referrer.line },
    { cause: err },
  );
}

interface RefCtx {
  referrer: Res;
  f: Filter;
  canRefer: (t: Res) => boolean;
  idx: Index;
  file: string;
}

function updateRef(s: Slot, c: RefCtx): void {
  const node = slotGet(s);
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    node.forEach((el, i) => {
      if (el === null || el === undefined) return;
      if (isMap(el)) setMapping(el, c);
      else if (typeof el !== "object") setScalar({ parent: node, key: i }, c);
      else throw new MalformedRef("a list item is neither a string nor a map");
    });
    return;
  }
  if (isMap(node)) setMapping(node, c);
  else setScalar(s, c);
}

function setScalar(s: Slot, c: RefCtx): void {
  const v = slotGet(s);
  if (typeof v !== "string") return;
  const hit = selectReferral(v, undefined, c, (x) => x.every((r) => r.obj.metadata.name === x[0]!.obj.metadata.name));
  if (hit && hit.obj.metadata.name !== v) slotSet(s, hit.obj.metadata.name);
}

function setMapping(node: JsonMap, c: RefCtx): void {
  if (!("name" in node)) {
    throw new MalformedRef("a map without a 'name' field");
  }
  let nsFilter: ((r: Res) => boolean) | undefined;
  if (node.namespace !== undefined && node.namespace !== null) {
    const ns = String(node.namespace);
    const all = [...c.idx.cur.keys()].filter(c.canRefer);
    const byOrg = all.filter((r) => effectiveNs(c.idx.org.get(r)!) === ns);
    const chosen = new Set(byOrg.length > 0 ? byOrg : all.filter((r) => effectiveNs(c.idx.cur.get(r)!) === ns));
    nsFilter = (r) => chosen.has(r);
  }
  const oldName = typeof node.name === "string" ? node.name : String(node.name);
  const hit = selectReferral(oldName, nsFilter, c, (x) =>
    x.every((r) => r.obj.metadata.name === x[0]!.obj.metadata.name && (r.obj.metadata.namespace ?? "") === (x[0]!.obj.metadata.namespace ?? "")),
  );
  if (!hit) return;
  const ns = hit.obj.metadata.namespace ?? "";
  if (hit.obj.metadata.name === oldName && ns === "") return;
  node.name = hit.obj.metadata.name;
  if (ns !== "") node.namespace = ns;
}

function selectReferral(oldName: string, extra: ((r: Res) => boolean) | undefined, c: RefCtx, identical: (x: Res[]) => boolean): Res | undefined {
  const { idx, f, referrer } = c;
  let cands = (idx.byPrevName.get(oldName) ?? []).filter((r) => c.canRefer(r) && (!extra || extra(r)));
  cands = cands.filter((r) => idx.prev.get(r)!.some((id) => idSelected(id, f.target)));
  if (f.spec.path.endsWith("roleRef/name")) {
    const rr = referrer.obj.roleRef;
    if (isMap(rr) && typeof rr.apiGroup === "string" && typeof rr.kind === "string") {
      const gvk = { group: rr.apiGroup, kind: rr.kind };
      cands = cands.filter((r) => idx.prev.get(r)!.some((id) => idSelected(id, gvk)));
    }
  }
  const rid = idx.cur.get(referrer)!;
  if (!rid.clusterScoped) {
    cands = cands.filter((r) => {
      const id = idx.cur.get(r)!;
      return id.clusterScoped || r.obj.kind === "ServiceAccount" || effectiveNs(id) === effectiveNs(rid);
    });
  }
  if (cands.length === 1) return cands[0];
  cands = cands.filter((r) => affixesEqual(r, referrer, true));
  if (cands.length > 1) cands = cands.filter((r) => affixesEqual(r, referrer, false));
  if (cands.length === 1) return cands[0];
  if (cands.length === 0) return undefined;
  if (identical(cands)) return cands[0];
  throw new RenderError(
    `found multiple possible referrals for ${f.spec.path} = ${JSON.stringify(oldName)} in ${idString(rid)}: ${cands.map((x) => idString(idx.cur.get(x)!)).join(", ")}`,
    { file: c.file },
  );
}

// Name references (Kustomize's nameReference transformer): after prefixes, suffixes, namespaces and content hashes
// changed names, every field that refers to a renamed object by its old name is rewritten, following the
// `nameReference` rules of the transformer configuration (built-in plus `configurations:` and `crds:`).
import { RenderError } from "../errors.js";
import { isMap, type JsonMap, type ScopeResolver } from "../objects.js";
import { slotGet, slotSet, type FieldSpec, type Gvk, type NameBackRef, type Slot } from "./fieldspecs.js";
import { curId, effectiveNs, idSelected, idString, orgId, prevIds, type Res } from "./resource.js";
import { applySpec } from "./transformers.js";

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

/** The resources a referrer could refer to: cluster-scoped ones, ones in its namespace, and a RoleBinding's subjects' namespaces. */
function couldBeReferencedBy(res: Res[], referrer: Res, scope?: ScopeResolver): Res[] {
  const rid = curId(referrer, scope);
  if (rid.clusterScoped) return res;
  const bindingNs = new Set<string>();
  if (referrer.obj.kind === "RoleBinding" && Array.isArray(referrer.obj.subjects)) {
    for (const s of referrer.obj.subjects) {
      if (isMap(s) && s.kind === "ServiceAccount" && typeof s.namespace === "string") bindingNs.add(s.namespace);
    }
  }
  return res.filter((t) => {
    const id = curId(t, scope);
    if (id.clusterScoped) return true;
    if (effectiveNs(id) === effectiveNs(rid)) return true;
    return bindingNs.has(id.namespace);
  });
}

interface Filter {
  spec: FieldSpec;
  target: Gvk;
}

export function fixNameReferences(res: Res[], rules: NameBackRef[], file: string, scope?: ScopeResolver): void {
  const orgIds = res.map((r) => orgId(r, scope));
  const filters = new Map<Res, Filter[]>();
  for (const rule of rules) {
    for (const spec of rule.fieldSpecs) {
      res.forEach((r, i) => {
        if (!idSelected(orgIds[i]!, spec)) return;
        const list = filters.get(r) ?? [];
        list.push({ spec, target: rule });
        filters.set(r, list);
      });
    }
  }
  for (const [referrer, list] of filters) {
    const candidates = couldBeReferencedBy(res, referrer, scope);
    for (const f of list) {
      // The filter matches the referrer whatever its current group/version/kind (Kustomize sets the spec's gvk to it).
      const spec: FieldSpec = { path: f.spec.path };
      applySpec(referrer, spec, undefined, (s) => updateRef(s, referrer, f, candidates, file, scope), file);
    }
  }
}

function updateRef(s: Slot, referrer: Res, f: Filter, candidates: Res[], file: string, scope?: ScopeResolver): void {
  const node = slotGet(s);
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    node.forEach((el, i) => {
      if (el === null || el === undefined) return;
      if (isMap(el)) setMapping(el, referrer, f, candidates, file, scope);
      else if (typeof el !== "object") setScalar({ parent: node, key: i }, referrer, f, candidates, file, scope);
      else throw new RenderError(`name reference ${f.spec.path} of ${idString(curId(referrer, scope))}: a list item is neither a string nor a map`, { file });
    });
    return;
  }
  if (isMap(node)) setMapping(node, referrer, f, candidates, file, scope);
  else setScalar(s, referrer, f, candidates, file, scope);
}

function setScalar(s: Slot, referrer: Res, f: Filter, candidates: Res[], file: string, scope?: ScopeResolver): void {
  const v = slotGet(s);
  if (typeof v !== "string") return;
  const hit = selectReferral(v, candidates, referrer, f, file, scope, (c) => c.every((x) => x.obj.metadata.name === c[0]!.obj.metadata.name));
  if (hit && hit.obj.metadata.name !== v) slotSet(s, hit.obj.metadata.name);
}

function setMapping(node: JsonMap, referrer: Res, f: Filter, candidates: Res[], file: string, scope?: ScopeResolver): void {
  if (!("name" in node)) {
    throw new RenderError(`name reference ${f.spec.path} of ${idString(curId(referrer, scope))}: path config error; no 'name' field in node`, { file });
  }
  let cands = candidates;
  if (node.namespace !== undefined && node.namespace !== null) {
    const ns = String(node.namespace);
    const byOrg = candidates.filter((c) => effectiveNs(orgId(c, scope)) === ns);
    cands = byOrg.length > 0 ? byOrg : candidates.filter((c) => effectiveNs(curId(c, scope)) === ns);
  }
  const oldName = typeof node.name === "string" ? node.name : String(node.name);
  const hit = selectReferral(oldName, cands, referrer, f, file, scope, (c) =>
    c.every((x) => x.obj.metadata.name === c[0]!.obj.metadata.name && (x.obj.metadata.namespace ?? "") === (c[0]!.obj.metadata.namespace ?? "")),
  );
  if (!hit) return;
  const ns = hit.obj.metadata.namespace ?? "";
  if (hit.obj.metadata.name === oldName && ns === "") return;
  node.name = hit.obj.metadata.name;
  if (ns !== "") node.namespace = ns;
}

function selectReferral(
  oldName: string,
  candidates: Res[],
  referrer: Res,
  f: Filter,
  file: string,
  scope: ScopeResolver | undefined,
  identical: (c: Res[]) => boolean,
): Res | undefined {
  let c = candidates.filter((r) => prevIds(r).some((id) => id.name === oldName));
  c = c.filter((r) => prevIds(r).some((id) => idSelected(id, f.target)));
  if (f.spec.path.endsWith("roleRef/name")) {
    const rr = referrer.obj.roleRef;
    if (isMap(rr) && typeof rr.apiGroup === "string" && typeof rr.kind === "string") {
      const gvk = { group: rr.apiGroup, kind: rr.kind };
      c = c.filter((r) => prevIds(r).some((id) => idSelected(id, gvk)));
    }
  }
  const rid = curId(referrer, scope);
  if (!rid.clusterScoped) {
    c = c.filter((r) => {
      const id = curId(r, scope);
      return id.clusterScoped || r.obj.kind === "ServiceAccount" || effectiveNs(id) === effectiveNs(rid);
    });
  }
  if (c.length === 1) return c[0];
  c = c.filter((r) => affixesEqual(r, referrer, true));
  if (c.length > 1) c = c.filter((r) => affixesEqual(r, referrer, false));
  if (c.length === 1) return c[0];
  if (c.length === 0) return undefined;
  if (identical(c)) return c[0];
  throw new RenderError(
    `found multiple possible referrals for ${f.spec.path} = ${JSON.stringify(oldName)} in ${idString(rid)}: ${c.map((x) => idString(curId(x, scope))).join(", ")}`,
    { file },
  );
}

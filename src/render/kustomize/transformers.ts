// Kustomize's builtin transformers over a list of resources, each as its builtin plugin does it (kustomize v5,
// api/internal/builtins and api/filters): namespace, name prefix and suffix, labels, annotations, replica counts,
// value-add and selection of targets. Images live in images.ts, patches and replacements in patches.ts and
// replacements.ts.
import { posix } from "node:path";
import { RenderError } from "../errors.js";
import { isMap, type JsonMap, type ScopeResolver } from "../objects.js";
import { FieldSpecError, slotGet, slotSet, visitFieldSpec, type CreateKind, type FieldSpec, type Slot } from "./fieldspecs.js";
import {
  allIds,
  curId,
  describeRes,
  effectiveNs,
  idConflict,
  idSelected,
  idString,
  kustomizeClusterScoped,
  orgId,
  storePreviousId,
  type Res,
} from "./resource.js";
import { newCell, share, writeInPlace, type Cell } from "./shared.js";

/** Runs a field-spec walk over one resource, turning walk errors into RenderErrors naming the field and object. */
export function applySpec(r: Res, fs: FieldSpec, createKind: CreateKind, set: (s: Slot) => void, file: string): void {
  try {
    visitFieldSpec(r.obj, fs, createKind, set);
  } catch (err) {
    if (err instanceof FieldSpecError || (err instanceof Error && !(err instanceof RenderError))) {
      throw new RenderError(`considering field '${fs.path}' of ${describeRes(r)}: ${err.message}`, { file }, { cause: err });
    }
    throw err;
  }
}

/** kyaml FieldSetter with SetEntry's node: an existing field is written in place, a missing one gets the shared node. */
function setMapEntry(s: Slot, key: string, cell: Cell, what: string): void {
  const node = slotGet(s);
  if (node === null || node === undefined) return;
  if (!isMap(node)) throw new FieldSpecError(`${what} must be a map to set ${JSON.stringify(key)} in it`);
  if (node[key] === undefined) share(node, key, cell);
  else writeInPlace(node, key, cell.value);
}

/** Sorted keys, as Kustomize sets labels and annotations. */
function sortedEntries(m: Record<string, string>): [string, string][] {
  return Object.keys(m)
    .sort()
    .map((k) => [k, m[k]!]);
}

// ---- labels and annotations -------------------------------------------------------------------------------------

export function addLabels(res: Res[], labels: Record<string, string>, specs: FieldSpec[], file: string): void {
  if (Object.keys(labels).length === 0) return;
  const entries = sortedEntries(labels);
  for (const r of res) {
    const applicable = specsFor(r, specs);
    for (const [k, v] of entries) {
      // One node per resource and key, shared by every field it is created in (see shared.ts).
      const cell = newCell(v);
      for (const fs of applicable) applySpec(r, fs, "map", (s) => setMapEntry(s, k, cell, `labels at ${fs.path}`), file);
    }
  }
}

/** The specs whose group/version/kind select the resource as it is now. */
export function specsFor(r: Res, specs: FieldSpec[]): FieldSpec[] {
  const av = typeof r.obj.apiVersion === "string" ? r.obj.apiVersion : "";
  const slash = av.indexOf("/");
  const group = slash < 0 ? "" : av.slice(0, slash);
  const version = slash < 0 ? av : av.slice(slash + 1);
  const kind = r.obj.kind;
  return specs.filter((fs) => (!fs.kind || fs.kind === kind) && (!fs.group || fs.group === group) && (!fs.version || fs.version === version));
}

export const addAnnotations = addLabels;

// ---- namespace --------------------------------------------------------------------------------------------------

export type SubjectMode = "defaultOnly" | "allServiceAccounts" | "none";

export interface NamespaceOptions {
  namespace: string;
  specs: FieldSpec[];
  unsetOnly?: boolean;
  subjects?: SubjectMode;
  scope?: ScopeResolver;
  file: string;
  /** ValueAddTransformer uses the namespace filter without storing previous ids or checking conflicts. */
  plain?: boolean;
}

function setNs(s: Slot, ns: string, unsetOnly: boolean): void {
  const cur = slotGet(s);
  if (unsetOnly && typeof cur === "string" && cur !== "") return;
  if (isMap(cur) || Array.isArray(cur)) throw new FieldSpecError("namespace field specs must target scalar nodes");
  slotSet(s, ns);
}

/** Kustomize's namespace filter on one resource. */
export function namespaceOne(r: Res, o: NamespaceOptions): void {
  const { namespace: ns, unsetOnly = false } = o;
  const apiVersion = typeof r.obj.apiVersion === "string" ? r.obj.apiVersion : "";
  const kind = r.obj.kind;
  let specs = o.specs.filter((fs) => fs.path !== "metadata/namespace" && !(apiVersion !== "v1" && fs.path === "metadata/name"));
  if (!kustomizeClusterScoped(apiVersion, kind, o.scope)) {
    applySpec(r, { path: "metadata/namespace", create: true }, "scalar", (s) => setNs(s, ns, unsetOnly), o.file);
  }
  if (kind === "RoleBinding" || kind === "ClusterRoleBinding") {
    specs = specs.filter((fs) => !((fs.kind === "RoleBinding" || fs.kind === "ClusterRoleBinding") && fs.path === "subjects/namespace"));
    const mode = o.subjects ?? "defaultOnly";
    const subjects = r.obj.subjects;
    if (mode !== "none" && Array.isArray(subjects)) {
      for (const subj of subjects) {
        if (!isMap(subj)) continue;
        const hit = mode === "defaultOnly" ? subj.name === "default" : subj.kind === "ServiceAccount";
        if (!hit) continue;
        if (unsetOnly && typeof subj.namespace === "string" && subj.namespace !== "") continue;
        subj.namespace = ns;
      }
    }
  }
  for (const fs of specs) applySpec(r, fs, "scalar", (s) => setNs(s, ns, unsetOnly), o.file);
}

export function setNamespace(res: Res[], o: NamespaceOptions): void {
  if (!o.namespace) return;
  for (const r of res) {
    if (r.obj.metadata.annotations?.["kustomize.config.k8s.io/helm-generated"] === "true") continue;
    storePreviousId(r, o.scope);
    namespaceOne(r, o);
  }
  // Kustomize checks each resource after setting its namespace; a conflict found then remains at the end.
  const dup = idConflict([], res, o.scope);
  if (dup) throw new RenderError(`namespace transformation produces ID conflict: ${idString(dup.id)} (from ${dup.first.file} and ${dup.second.file})`, { file: o.file });
}

// ---- name prefix and suffix -------------------------------------------------------------------------------------

function skipsPrefix(r: Res, scope?: ScopeResolver): boolean {
  const id = orgId(r, scope);
  return id.kind === "CustomResourceDefinition" || (id.kind === "APIService" && id.group === "apiregistration.k8s.io") || id.kind === "Namespace";
}

export function addPrefixSuffix(res: Res[], prefix: string | undefined, suffix: string | undefined, specs: FieldSpec[], file: string, scope?: ScopeResolver): void {
  for (const [affix, isPrefix] of [
    [prefix, true],
    [suffix, false],
  ] as const) {
    if (affix === undefined) continue;
    for (const r of res) {
      if (skipsPrefix(r, scope)) continue;
      const id = orgId(r, scope);
      for (const fs of specs) {
        if (!idSelected(id, fs)) continue;
        if (fs.path === "metadata/name") {
          if (affix) (isPrefix ? r.prefixes : r.suffixes).push(affix);
          if (affix !== "") storePreviousId(r, scope);
        }
        applySpec(
          r,
          fs,
          "scalar",
          (s) => {
            const v = slotGet(s);
            const text = v === null || v === undefined ? "" : typeof v === "object" ? undefined : String(v);
            if (text === undefined) throw new FieldSpecError(`a name prefix or suffix needs a scalar at ${fs.path}`);
            slotSet(s, isPrefix ? `${affix}${text}` : `${text}${affix}`);
          },
          file,
        );
      }
    }
  }
}

// ---- replicas ---------------------------------------------------------------------------------------------------

export function setReplicas(res: Res[], name: string, count: number, specs: FieldSpec[], file: string, scope?: ScopeResolver): void {
  let found = false;
  for (const fs of specs) {
    const matched = res.filter((r) => allIds(r, scope).some((id) => id.name === name && idSelected(id, fs)));
    if (matched.length === 0) continue;
    found = true;
    for (const r of matched) applySpec(r, fs, "scalar", (s) => slotSet(s, count), file);
  }
  if (!found) {
    const gvks = specs.map((fs) => `${fs.kind || "[noKind]"}.${fs.version || "[noVer]"}.${fs.group || "[noGrp]"}`);
    throw new RenderError(`replicas: resource with name ${name} does not match a config with the following GVK [${gvks.join(" ")}]`, { file });
  }
}

// ---- value add ----------------------------------------------------------------------------------------------------

function splitEscaped(path: string): string[] {
  const out: string[] = [];
  for (const f of path.split("/")) {
    const last = out[out.length - 1];
    if (last !== undefined && last.endsWith("\\")) out[out.length - 1] = `${last.slice(0, -1)}/${f}`;
    else out.push(f);
  }
  return out;
}

/** filesys.InsertPathPart: `part` inserted at position `pos` of a slash-separated path (0 prefixes). */
export function insertPathPart(p: string, pos: number, part: string): string {
  if (part === "") return p;
  const parts = p.split("/").filter((x) => x !== "");
  if (p.startsWith("/")) parts.unshift("");
  let at = Math.max(0, Math.min(pos, parts.length));
  if (parts.length > 0 && parts[0] === "" && at < parts.length) at++;
  const result = [...parts.slice(0, at), part, ...parts.slice(at)];
  if (result[0] === "") return `/${posix.join(...result.slice(1))}`;
  return posix.join(...result);
}

export function valueAdd(r: Res, value: string, fieldPath: string, filePathPosition: number, file: string): void {
  const fields = splitEscaped(fieldPath);
  let node: JsonMap = r.obj;
  for (let i = 0; i < fields.length - 1; i++) {
    const f = fields[i]!;
    if (node[f] === undefined || node[f] === null) node[f] = {};
    const next = node[f];
    if (!isMap(next)) throw new RenderError(`ValueAddTransformer: ${fieldPath} of ${describeRes(r)} is not a map at ${f}`, { file });
    node = next;
  }
  const last = fields[fields.length - 1]!;
  const cur = node[last];
  if (isMap(cur) || Array.isArray(cur)) throw new RenderError(`ValueAddTransformer: ${fieldPath} of ${describeRes(r)} is not a scalar`, { file });
  const text = cur === undefined || cur === null ? "" : String(cur);
  node[last] = filePathPosition > 0 ? insertPathPart(text, filePathPosition - 1, value) : value;
}

// ---- selecting targets (Kustomize's Selector: anchored regular expressions) -------------------------------------

export function anchored(pattern: unknown, file?: string): RegExp | undefined {
  if (pattern === undefined || pattern === null || pattern === "") return undefined;
  const p = String(pattern);
  // Patterns come from the repository: refuse nested quantifiers, which can backtrack for minutes on one name.
  if (/\([^)]*[+*}][^)]*\)\s*[+*{]/.test(p) || p.length > 500) {
    throw new RenderError(`target pattern ${JSON.stringify(p)} is too complex (nested quantifiers or over 500 characters)`, file ? { file } : {});
  }
  try {
    return new RegExp(`^(?:${p})$`);
  } catch {
    return new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  }
}

/** Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function parseSelector(sel: string): (labels: Record<string, string>) => boolean {
  const terms: ((l: Record<string, string>) => boolean)[] = [];
  const parts = sel.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts.map((p) => p.trim()).filter(Boolean)) {
    let m: RegExpMatchArray | null;
    if ((m = raw.match(/^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, key, op, vals] = m;
      const set = new Set(vals!.split(",").map((v) => v.trim()));
      terms.push(op === "in" ? (l) => key! in l && set.has(l[key!]!) : (l) => !(key! in l) || !set.has(l[key!]!));
    } else if ((m = raw.match(/^([^=!\s]+)\s*!=\s*(\S*)$/))) {
      const [, key, val] = m;
      terms.push((l) => l[key!] !== val);
    } else if ((m = raw.match(/^([^=!\s]+)\s*==?\s*(\S*)$/))) {
      const [, key, val] = m;
      terms.push((l) => l[key!] === val);
    } else if ((m = raw.match(/^!\s*(\S+)$/))) {
      const key = m[1]!;
      terms.push((l) => !(key in l));
    } else if (/^\S+$/.test(raw)) {
      terms.push((l) => raw in l);
    } else throw new RenderError(`cannot parse selector ${JSON.stringify(sel)}`);
  }
  return (l) => terms.every((t) => t(l));
}

/** Kustomize's ResMap.Select: namespace and name against the original and current ids, the current group/version/kind. */
export function selectRes(res: Res[], t: JsonMap, scope?: ScopeResolver, file?: string): Res[] {
  const group = anchored(t.group, file);
  const version = anchored(t.version, file);
  const kind = anchored(t.kind, file);
  const name = anchored(t.name, file);
  const ns = anchored(t.namespace, file);
  const labels = t.labelSelector === undefined || t.labelSelector === null || t.labelSelector === "" ? undefined : parseSelector(String(t.labelSelector));
  const annotations =
    t.annotationSelector === undefined || t.annotationSelector === null || t.annotationSelector === "" ? undefined : parseSelector(String(t.annotationSelector));
  return res.filter((r) => {
    const cur = curId(r, scope);
    const org = orgId(r, scope);
    if (ns && !ns.test(effectiveNs(org)) && !ns.test(effectiveNs(cur))) return false;
    if (name && !name.test(org.name) && !name.test(cur.name)) return false;
    if (group && !group.test(cur.group)) return false;
    if (version && !version.test(cur.version)) return false;
    if (kind && !kind.test(cur.kind)) return false;
    if (labels && !labels(stringMapOf(r.obj.metadata.labels))) return false;
    if (annotations && !annotations(stringMapOf(r.obj.metadata.annotations))) return false;
    return true;
  });
}

function stringMapOf(v: unknown): Record<string, string> {
  if (!isMap(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === "string" ? x : String(x);
  return out;
}

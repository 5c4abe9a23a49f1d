// `vars` (Kustomize's legacy variables): a var names a field of one resource (objref + fieldref); at the very end of
// the build, after name references are fixed, every `$(VAR)` in the fields listed by the `varReference`
// configuration is replaced by that field's final value. `$$(VAR)` is a literal `$(VAR)`; unknown vars stay as
// they are.
import { RenderError } from "../errors.js";
import { groupOf, isMap, versionOf, type JsonMap, type ScopeResolver } from "../objects.js";
import { slotGet, slotSet, type FieldSpec, type Slot } from "./fieldspecs.js";
import { parseFieldPath, reach } from "./replacements.js";
import { allIds, curId, gvknEquals, idEquals, kustomizeClusterScoped, type Res, type ResId } from "./resource.js";
import { applySpec } from "./transformers.js";

export interface Var {
  name: string;
  target: ResId;
  fieldPath: string;
  file: string;
}

/** Reads a kustomization's `vars` list. */
export function readVars(v: unknown, file: string): Var[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RenderError('"vars" must be a list', { file });
  return v.map((x) => {
    if (!isMap(x) || typeof x.name !== "string" || !x.name) throw new RenderError("each var needs a name", { file });
    const ref = isMap(x.objref) ? x.objref : undefined;
    if (!ref) throw new RenderError(`var ${x.name} needs an objref`, { file });
    for (const k of Object.keys(x)) if (!["name", "objref", "fieldref"].includes(k)) throw new RenderError(`var ${x.name}: unknown field "${k}"`, { file });
    const str = (m: JsonMap, k: string): string => {
      const s = m[k];
      if (s === undefined || s === null) return "";
      if (typeof s !== "string") throw new RenderError(`var ${String(x.name)}: ${k} must be a string`, { file });
      return s;
    };
    let group = str(ref, "group");
    let version = str(ref, "version");
    const apiVersion = str(ref, "apiVersion");
    if (apiVersion) {
      // Target.GVK(): an apiVersion overrides group and version ("v1" sets only the version).
      if (apiVersion.includes("/")) {
        group = groupOf(apiVersion);
        version = versionOf(apiVersion);
      } else version = apiVersion;
    }
    const fieldref = isMap(x.fieldref) ? x.fieldref : {};
    const fieldPath = str(fieldref, "fieldPath") || str(fieldref, "fieldpath") || "metadata.name";
    return {
      name: x.name,
      target: { group, version, kind: str(ref, "kind"), name: str(ref, "name"), namespace: str(ref, "namespace"), clusterScoped: false },
      fieldPath,
      file,
    };
  });
}

/** MergeVars: each var is attached to the one resource it refers to now (by any of its ids); names must be unique. */
export function mergeVars(res: Res[], known: Map<string, Var>, incoming: Var[], scope?: ScopeResolver): void {
  for (const v of incoming) {
    const target = { ...v.target, clusterScoped: kustomizeClusterScoped(v.target.group ? `${v.target.group}/${v.target.version}` : v.target.version, v.target.kind, scope) };
    const strict = target.namespace !== "" || target.clusterScoped;
    const matched = res.filter((r) => allIds(r, scope).some((id) => (strict ? idEquals(id, target) : gvknEquals(id, target))));
    if (matched.length > 1) {
      throw new RenderError(`found ${matched.length} resId matches for var ${v.name} (unable to disambiguate)`, { file: v.file });
    }
    if (matched.length === 1) matched[0]!.refVarNames.push(v.name);
  }
  for (const v of incoming) {
    if (known.has(v.name)) throw new RenderError(`var '${v.name}' already encountered`, { file: v.file });
    known.set(v.name, v);
  }
}

/** kyaml's GetFieldValue path: dot-separated, `ports[0]` is `ports` then index 0, `[k=v]` picks an item. */
function fieldValue(obj: JsonMap, path: string, file: string): unknown {
  const segs = parseFieldPath(path, file).flatMap((s) => {
    if (s.kind === "key") {
      const m = s.key.match(/^(.*)\[(\d+)\]$/);
      if (m) return [...(m[1] ? [{ kind: "key" as const, key: m[1] }] : []), { kind: "key" as const, key: m[2]! }];
    }
    return [s];
  });
  const hits = reach(obj, segs, false);
  if (hits.length === 0) return undefined;
  return (hits[0]!.parent as Record<string | number, unknown>)[hits[0]!.key];
}

type Primitive = string | number | boolean;

/** ResolveVars: the value of every var, then `$(VAR)` replaced in the varReference fields of every resource. */
export function resolveVars(res: Res[], known: Map<string, Var>, specs: FieldSpec[], warn: (msg: string) => void, scope?: ScopeResolver): void {
  if (known.size === 0) return;
  const values = new Map<string, unknown>();
  for (const v of [...known.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const r = res.find((x) => x.refVarNames.includes(v.name));
    if (!r) throw new RenderError(`var '${v.name}' cannot be mapped to a field in the set of known resources`, { file: v.file });
    const value = fieldValue(r.obj, v.fieldPath, v.file);
    if (value === undefined) throw new RenderError(`field specified in var '${v.name}' (${v.fieldPath}) not found in corresponding resource ${curId(r, scope).kind} ${r.obj.metadata.name}`, { file: v.file });
    values.set(v.name, value);
  }
  const counts = new Map<string, number>();
  const mapping = (key: string): unknown => {
    if (values.has(key)) {
      const value = values.get(key);
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return value;
      }
    }
    return `$(${key})`;
  };
  for (const r of res) {
    for (const fs of specs) {
      applySpec(r, fs, undefined, (s) => replaceIn(s, mapping), r.file);
    }
  }
  const unused = [...values.keys()].filter((k) => !counts.has(k));
  if (unused.length) warn(`well-defined vars that were never replaced: ${unused.join(",")}`);
}

function replaceIn(s: Slot, mapping: (key: string) => unknown): void {
  const node = slotGet(s);
  if (node === null || node === undefined) return;
  if (typeof node === "string") {
    slotSet(s, doReplacements(node, mapping));
    return;
  }
  if (isMap(node)) {
    for (const [k, v] of Object.entries(node)) if (typeof v === "string") node[k] = doReplacements(v, mapping);
    return;
  }
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      if (typeof item !== "string") throw new Error("invalid value type expect a string");
      node[i] = doReplacements(item, mapping);
    });
  }
}

/** Kustomize's refvar.DoReplacements (Kubernetes' expansion syntax): `$(VAR)`, `$$` an escaped `$`. */
export function doReplacements(input: string, mapping: (key: string) => unknown): unknown {
  let buf = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === "$" && cursor + 1 < input.length) {
      buf += input.slice(checkpoint, cursor);
      const rest = input.slice(cursor + 1);
      let read: string;
      let isVar = false;
      let advance = 1;
      if (rest[0] === "$") read = "$";
      else if (rest[0] === "(") {
        const close = rest.indexOf(")", 1);
        if (close > 0) {
          read = rest.slice(1, close);
          isVar = true;
          advance = close + 1;
        } else read = "$(";
      } else read = `$${rest[0]}`;
      if (isVar) {
        const mapped = mapping(read);
        if (input === `$(${read})`) return mapped;
        buf += goFormat(mapped as Primitive);
      } else buf += read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return buf + input.slice(checkpoint);
}

function goFormat(v: Primitive): string {
  return typeof v === "string" ? v : String(v);
}

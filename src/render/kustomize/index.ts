// The kustomize renderer: a kustomization.yaml interpreted natively, following `kubectl kustomize` (Kustomize v5):
// resources and components accumulate, then generators run, then the transformers in Kustomize's order; at the top
// level, content hashes are appended to generated names and every name reference is updated.
import * as path from "node:path";
import jsonPatch, { type Operation } from "fast-json-patch";
import { RenderError } from "../errors.js";
import type { ArtifactRoot } from "../fs.js";
import { clone, groupOf, isClusterScoped, isMap, versionOf, type JsonMap, type KubeObject, type ScopeResolver } from "../objects.js";
import { objectsFromText } from "../plain.js";
import { parseYamlDocs } from "../yaml.js";
import {
  ANNOTATION_SPECS,
  METADATA_LABEL_SPECS,
  NAME_REF_SPECS,
  SELECTOR_LABEL_SPECS,
  TEMPLATE_LABEL_SPECS,
  specApplies,
  walkPath,
  type FieldSpec,
} from "./fieldspecs.js";
import { kustomizeHash } from "./hash.js";
import { DELETE, strategicMerge } from "./smp.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export interface KustomizeOptions {
  /** Decides scope for kinds the built-in list does not know (CRDs); default: namespaced. */
  scope?: ScopeResolver;
}

/** One resource as it moves through the build: the object plus every name it has had (for references). */
interface Res {
  obj: KubeObject;
  names: string[];
  namespaces: (string | undefined)[];
  file: string;
  hash: boolean;
}

interface Ctx {
  root: ArtifactRoot;
  scope?: ScopeResolver;
  stack: string[];
}

export function findKustomization(root: ArtifactRoot, dir: string): string | undefined {
  const found = KUSTOMIZATION_FILES.map((f) => (dir ? `${dir}/${f}` : f)).filter((f) => root.isFile(f));
  if (found.length > 1) throw new RenderError(`found more than one kustomization file (${found.join(", ")}); keep one`, { file: dir || "." });
  return found[0];
}

/** Renders the kustomization in `dir` (root-relative). */
export function renderKustomize(root: ArtifactRoot, dir: string, opts: KustomizeOptions = {}): KubeObject[] {
  const ctx: Ctx = { root, scope: opts.scope, stack: [] };
  const resources = buildTarget(ctx, dir, "Kustomization", []);
  for (const r of resources) {
    if (r.hash) rename(r, `${r.obj.metadata.name}-${kustomizeHash(r.obj)}`);
  }
  fixNameReferences(resources, ctx);
  return legacySort(resources.map((r) => r.obj));
}

// ---- loading ---------------------------------------------------------------------------------------------------

const KNOWN_FIELDS = new Set([
  "apiVersion",
  "kind",
  "metadata",
  "resources",
  "bases",
  "components",
  "namespace",
  "namePrefix",
  "nameSuffix",
  "commonLabels",
  "labels",
  "commonAnnotations",
  "images",
  "replicas",
  "patches",
  "patchesStrategicMerge",
  "patchesJson6902",
  "configMapGenerator",
  "secretGenerator",
  "generatorOptions",
  "sortOptions",
  "replacements",
]);
const UNSUPPORTED_FIELDS = new Set([
  "vars",
  "helmCharts",
  "helmGlobals",
  "helmChartInflationGenerator",
  "generators",
  "transformers",
  "validators",
  "openapi",
  "configurations",
  "crds",
  "inventory",
  "buildMetadata",
]);

function loadKustomization(ctx: Ctx, dir: string): { file: string; k: JsonMap } {
  const file = findKustomization(ctx.root, dir);
  if (!file) {
    throw new RenderError(`directory has no kustomization.yaml (looked for ${KUSTOMIZATION_FILES.join(", ")})`, { file: dir || "." });
  }
  const docs = parseYamlDocs(ctx.root.readText(file), file, ctx.root.limits);
  if (docs.length !== 1 || !isMap(docs[0]!.value)) throw new RenderError("a kustomization must be exactly one YAML map", { file });
  const k = docs[0]!.value;
  for (const key of Object.keys(k)) {
    if (UNSUPPORTED_FIELDS.has(key)) throw new RenderError(`kustomization field "${key}" is not supported by Mooring's kustomize renderer`, { file });
    if (!KNOWN_FIELDS.has(key)) throw new RenderError(`unknown kustomization field "${key}"`, { file });
  }
  return { file, k };
}

const REMOTE = /^(https?:\/\/|git@|ssh:\/\/|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)|\?ref=|\.git(\/\/|$)/;

function strings(v: unknown, file: string, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new RenderError(`"${field}" must be a list of strings`, { file });
  return v as string[];
}

function list(v: unknown, file: string, field: string): JsonMap[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !isMap(x))) throw new RenderError(`"${field}" must be a list of maps`, { file });
  return v as JsonMap[];
}

function stringMap(v: unknown, file: string, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new RenderError(`"${field}" must be a map`, { file });
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw new RenderError(`"${field}.${k}" must be a string; quote the value (${JSON.stringify(x)})`, { file });
    out[k] = x;
  }
  return out;
}

function buildTarget(ctx: Ctx, dir: string, expected: "Kustomization" | "Component", input: Res[]): Res[] {
  if (ctx.stack.includes(dir)) {
    throw new RenderError(`kustomization cycle: ${[...ctx.stack, dir].map((d) => d || ".").join(" -> ")}`, { file: dir || "." });
  }
  if (ctx.stack.length > 50) throw new RenderError("kustomizations nest more than 50 levels deep", { file: dir || "." });
  ctx.stack.push(dir);
  try {
    const { file, k } = loadKustomization(ctx, dir);
    const kind = (k.kind as string | undefined) ?? "Kustomization";
    if (kind !== expected) {
      throw new RenderError(
        expected === "Component" ? `is listed under "components" but is a ${kind}` : `is a ${kind}; list it under "components", not "resources"`,
        { file },
      );
    }
    const res = [...input];
    for (const [field, what] of [
      ["bases", "base"],
      ["resources", "resource"],
    ] as const) {
      for (const r of strings(k[field], file, field)) addResources(res, loadResource(ctx, dir, file, r, what), file);
    }
    let acc = res;
    for (const c of strings(k.components, file, "components")) {
      if (REMOTE.test(c)) throw remoteError(c, file);
      const cdir = ctx.root.resolve(c, dir, "component", file, "directory");
      acc = buildTarget(ctx, cdir, "Component", acc);
    }
    runGenerators(ctx, dir, file, k, acc);
    return runTransformers(ctx, dir, file, k, acc);
  } finally {
    ctx.stack.pop();
  }
}

function remoteError(r: string, file: string): RenderError {
  return new RenderError(
    `remote base ${JSON.stringify(r)} is not supported: Mooring renders only what is in the source artifact; vendor the base into the repository or add it as its own source`,
    { file },
  );
}

function loadResource(ctx: Ctx, dir: string, file: string, r: string, what: "resource" | "base"): Res[] {
  if (REMOTE.test(r)) throw remoteError(r, file);
  const p = ctx.root.resolve(r, dir, what, file);
  if (ctx.root.isDir(p)) return buildTarget(ctx, p, "Kustomization", []);
  underKustomization(p, r, dir, file, what);
  return objectsFromText(ctx.root.readText(p), p, ctx.root.limits).map((obj) => newRes(obj, p, false));
}

/**
 * Kustomize's default load restriction: files (resources, patches, generator inputs) must be in or below the
 * kustomization's directory; only directories (other kustomizations) may be elsewhere in the artifact.
 */
function underKustomization(p: string, rel: string, dir: string, file: string, what: string): string {
  if (dir === "" || p === dir || p.startsWith(`${dir}/`)) return p;
  throw new RenderError(
    `${what} ${JSON.stringify(rel)} is not in or below ${dir} (Kustomize's load restriction); move it there, or put it in a directory with its own kustomization and list that directory`,
    { file },
  );
}

function newRes(obj: KubeObject, file: string, hash: boolean): Res {
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || !isMap(obj.metadata) || typeof obj.metadata.name !== "string") {
    throw new RenderError("object has no apiVersion, kind or metadata.name", { file });
  }
  return { obj, names: [obj.metadata.name], namespaces: [obj.metadata.namespace], file, hash };
}

function idOf(o: KubeObject): string {
  return `${groupOf(o.apiVersion)}|${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
}

function addResource(res: Res[], r: Res, file: string): void {
  addResources(res, [r], file);
}

/** Appends resources, refusing one whose id (group, kind, namespace, name) is already present. */
function addResources(res: Res[], added: Res[], file: string): void {
  const ids = new Map<string, Res>(res.map((x) => [idOf(x.obj), x]));
  for (const r of added) {
    const id = idOf(r.obj);
    const dup = ids.get(id);
    if (dup) {
      throw new RenderError(
        `may not add resource ${r.obj.kind} ${r.obj.metadata.namespace ? r.obj.metadata.namespace + "/" : ""}${r.obj.metadata.name} from ${r.file}: already added from ${dup.file}`,
        { file },
      );
    }
    ids.set(id, r);
    res.push(r);
  }
}

function rename(r: Res, name: string): void {
  r.obj.metadata.name = name;
  if (!r.names.includes(name)) r.names.push(name);
}

// ---- generators ------------------------------------------------------------------------------------------------

function runGenerators(ctx: Ctx, dir: string, file: string, k: JsonMap, res: Res[]): void {
  const globalOpts = isMap(k.generatorOptions) ? k.generatorOptions : {};
  for (const [field, kind] of [
    ["configMapGenerator", "ConfigMap"],
    ["secretGenerator", "Secret"],
  ] as const) {
    for (const g of list(k[field], file, field)) {
      const gen = generate(ctx, dir, file, g, field, kind, globalOpts);
      const behavior = (g.behavior as string | undefined) ?? "create";
      const name = gen.obj.metadata.name;
      const ns = gen.obj.metadata.namespace;
      const existing = res.find(
        (r) => r.obj.kind === kind && r.names.includes(name) && (ns === undefined || r.obj.metadata.namespace === ns),
      );
      if (behavior === "create") {
        addResource(res, gen, file);
      } else if (behavior === "merge" || behavior === "replace") {
        if (!existing) throw new RenderError(`${field} "${name}" has behavior ${behavior} but there is no ${kind} "${name}" to ${behavior}`, { file });
        const o = existing.obj;
        if (behavior === "merge") {
          for (const key of ["data", "binaryData"]) {
            if (isMap(gen.obj[key])) o[key] = { ...(isMap(o[key]) ? o[key] : {}), ...gen.obj[key] };
          }
          mergeMeta(o, gen.obj, "labels");
          mergeMeta(o, gen.obj, "annotations");
        } else {
          for (const key of ["data", "binaryData"]) {
            if (gen.obj[key] === undefined) delete o[key];
            else o[key] = gen.obj[key];
          }
          mergeMeta(o, gen.obj, "labels");
          mergeMeta(o, gen.obj, "annotations");
        }
        if (gen.obj.immutable !== undefined) o.immutable = gen.obj.immutable;
        existing.hash = existing.hash && gen.hash;
      } else {
        throw new RenderError(`${field} "${name}": unknown behavior "${behavior}" (use create, merge or replace)`, { file });
      }
    }
  }
}

function mergeMeta(target: JsonMap, src: JsonMap, key: "labels" | "annotations"): void {
  const sm = (src.metadata as JsonMap)[key];
  if (!isMap(sm)) return;
  const md = target.metadata as JsonMap;
  md[key] = { ...(isMap(md[key]) ? md[key] : {}), ...sm };
}

function generate(ctx: Ctx, dir: string, file: string, g: JsonMap, field: string, kind: "ConfigMap" | "Secret", globalOpts: JsonMap): Res {
  const name = g.name;
  if (typeof name !== "string" || !name) throw new RenderError(`a ${kind} generator has no name`, { file });
  const data: Record<string, string> = {};
  const binary: Record<string, string> = {};
  const put = (key: string, value: string | Buffer, from: string): void => {
    if (key in data || key in binary) throw new RenderError(`${kind} generator "${name}": key "${key}" is set twice (${from})`, { file });
    if (typeof value === "string") data[key] = value;
    else if (!isBinaryBuf(value)) data[key] = value.toString("utf8");
    else binary[key] = value.toString("base64");
  };
  for (const lit of strings(g.literals, file, `${name}.literals`)) {
    const i = lit.indexOf("=");
    if (i <= 0) throw new RenderError(`${kind} generator "${name}": literal ${JSON.stringify(lit)} is not key=value`, { file });
    put(lit.slice(0, i), unquote(lit.slice(i + 1)), "literals");
  }
  for (const f of strings(g.files, file, `${name}.files`)) {
    const i = f.indexOf("=");
    const key = i > 0 ? f.slice(0, i) : path.posix.basename(f);
    const src = i > 0 ? f.slice(i + 1) : f;
    const what = `${field} ${JSON.stringify(name)} file`;
    const p = underKustomization(ctx.root.resolve(src, dir, what, file, "file"), src, dir, file, what);
    put(key, ctx.root.readBytes(p), p);
  }
  const envs = [...strings(g.envs, file, `${name}.envs`), ...(typeof g.env === "string" ? [g.env] : [])];
  for (const e of envs) {
    const what = `${field} ${JSON.stringify(name)} env file`;
    const p = underKustomization(ctx.root.resolve(e, dir, what, file, "file"), e, dir, file, what);
    parseEnvFile(ctx.root.readText(p), p).forEach(([key, value]) => put(key, value, p));
  }
  const local = isMap(g.options) ? g.options : {};
  const labels = { ...stringMap(globalOpts.labels, file, "generatorOptions.labels"), ...stringMap(local.labels, file, `${name}.options.labels`) };
  const annotations = {
    ...stringMap(globalOpts.annotations, file, "generatorOptions.annotations"),
    ...stringMap(local.annotations, file, `${name}.options.annotations`),
  };
  // Kustomize ORs the two: a generator cannot re-enable a hash the kustomization disabled.
  const disableHash = local.disableNameSuffixHash === true || globalOpts.disableNameSuffixHash === true;
  const immutable = (local.immutable ?? globalOpts.immutable) === true;
  const metadata: KubeObject["metadata"] = { name };
  if (typeof g.namespace === "string") metadata.namespace = g.namespace;
  if (Object.keys(labels).length) metadata.labels = labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const obj: KubeObject = { apiVersion: "v1", kind, metadata };
  if (kind === "Secret") {
    const enc: Record<string, string> = {};
    for (const [k2, v] of Object.entries(data)) enc[k2] = wrapBase64(Buffer.from(v, "utf8").toString("base64"));
    for (const [k2, v] of Object.entries(binary)) enc[k2] = wrapBase64(v);
    if (Object.keys(enc).length) obj.data = enc;
    obj.type = typeof g.type === "string" ? g.type : "Opaque";
  } else {
    if (Object.keys(data).length) obj.data = data;
    if (Object.keys(binary).length) obj.binaryData = binary;
  }
  if (immutable) obj.immutable = true;
  return newRes(obj, file, !disableHash);
}

/** Kustomize breaks Secret values longer than 70 base64 characters into newline-terminated lines. */
function wrapBase64(b64: string): string {
  if (b64.length <= 70) return b64;
  let out = "";
  for (let i = 0; i < b64.length; i += 70) out += b64.slice(i, i + 70) + "\n";
  return out;
}

function isBinaryBuf(b: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return false;
  } catch {
    return true;
  }
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function parseEnvFile(text: string, file: string): [string, string][] {
  const out: [string, string][] = [];
  text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
      if (!line || line.startsWith("#")) return;
      const eq = line.indexOf("=");
      if (eq <= 0) {
        throw new RenderError(`env line ${JSON.stringify(line)} is not KEY=VALUE (reading variables from the environment is not supported)`, {
          file,
          line: i + 1,
        });
      }
      const key = line.slice(0, eq);
      if (/\s/.test(key)) throw new RenderError(`env key ${JSON.stringify(key)} contains whitespace`, { file, line: i + 1 });
      out.push([key, line.slice(eq + 1)]);
    });
  return out;
}

// ---- transformers ----------------------------------------------------------------------------------------------

function runTransformers(ctx: Ctx, dir: string, file: string, k: JsonMap, res: Res[]): Res[] {
  let out = res;
  // patchesStrategicMerge, then patches: both before namespace/prefix, so patches name objects as the bases do.
  for (const s of strings(k.patchesStrategicMerge, file, "patchesStrategicMerge")) {
    // An entry is a file path, or (legacy) the patch itself inline.
    const looksInline = s.includes("\n") || /^\s*(apiVersion|kind|metadata)\s*:/.test(s);
    const what = "patchesStrategicMerge entry";
    const where = looksInline ? file : underKustomization(ctx.root.resolve(s, dir, what, file, "file"), s, dir, file, what);
    const text = looksInline ? s : ctx.root.readText(where);
    out = applyPatchText(ctx, out, text, where, undefined, "smp");
  }
  for (const p of list(k.patches, file, "patches")) {
    if (isMap(p.options) && Object.values(p.options).some((v) => v === true)) {
      throw new RenderError(`patch options ${JSON.stringify(p.options)} are not supported (a patch may not rename or re-kind its target)`, { file });
    }
    const { text, where } = patchSource(ctx, dir, file, p, "patches");
    const target = p.target === undefined ? undefined : (p.target as JsonMap);
    out = applyPatchText(ctx, out, text, where, target, "auto");
  }
  if (typeof k.namespace === "string" && k.namespace) setNamespace(ctx, out, k.namespace);
  const prefix = typeof k.namePrefix === "string" ? k.namePrefix : "";
  const suffix = typeof k.nameSuffix === "string" ? k.nameSuffix : "";
  if (prefix || suffix) {
    for (const r of out) {
      if (skipsPrefix(r.obj)) continue;
      rename(r, `${prefix}${r.obj.metadata.name}${suffix}`);
    }
  }
  const common = stringMap(k.commonLabels, file, "commonLabels");
  if (Object.keys(common).length) addToFields(out, common, [...METADATA_LABEL_SPECS, ...SELECTOR_LABEL_SPECS, ...TEMPLATE_LABEL_SPECS]);
  for (const l of list(k.labels, file, "labels")) {
    const pairs = stringMap(l.pairs, file, "labels.pairs");
    const specs: FieldSpec[] = [...METADATA_LABEL_SPECS];
    if (l.includeSelectors === true) specs.push(...SELECTOR_LABEL_SPECS, ...TEMPLATE_LABEL_SPECS);
    else if (l.includeTemplates === true) specs.push(...TEMPLATE_LABEL_SPECS);
    for (const f of list(l.fields, file, "labels.fields")) specs.push(f as unknown as FieldSpec);
    addToFields(out, pairs, specs);
  }
  const annotations = stringMap(k.commonAnnotations, file, "commonAnnotations");
  if (Object.keys(annotations).length) addToFields(out, annotations, ANNOTATION_SPECS);
  for (const p of list(k.patchesJson6902, file, "patchesJson6902")) {
    const { text, where } = patchSource(ctx, dir, file, p, "patchesJson6902");
    if (!isMap(p.target)) throw new RenderError("a patchesJson6902 entry needs a target", { file });
    out = applyPatchText(ctx, out, text, where, p.target, "json6902");
  }
  for (const rep of list(k.replicas, file, "replicas")) setReplicas(out, rep, file);
  for (const img of list(k.images, file, "images")) setImages(out, img, file);
  for (const entry of list(k.replacements, file, "replacements")) {
    if (typeof entry.path === "string") {
      const what = "replacements path";
      const where = underKustomization(ctx.root.resolve(entry.path, dir, what, file, "file"), entry.path, dir, file, what);
      for (const doc of parseYamlDocs(ctx.root.readText(where), where, ctx.root.limits)) {
        for (const r of Array.isArray(doc.value) ? doc.value : [doc.value]) {
          if (!isMap(r)) throw new RenderError("a replacement must be a map with source and targets", { file: where, line: doc.line });
          applyReplacement(out, r, where);
        }
      }
    } else applyReplacement(out, entry, file);
  }
  return out;
}

function patchSource(ctx: Ctx, dir: string, file: string, p: JsonMap, field: string): { text: string; where: string } {
  if (typeof p.patch === "string") return { text: p.patch, where: file };
  if (typeof p.path === "string") {
    const what = `${field} path`;
    const where = underKustomization(ctx.root.resolve(p.path, dir, what, file, "file"), p.path, dir, file, what);
    return { text: ctx.root.readText(where), where };
  }
  throw new RenderError("a patch needs either `path` or `patch`", { file });
}

function skipsPrefix(o: KubeObject): boolean {
  const g = groupOf(o.apiVersion);
  return (
    (o.kind === "CustomResourceDefinition" && g === "apiextensions.k8s.io") ||
    (o.kind === "APIService" && g === "apiregistration.k8s.io") ||
    (o.kind === "Namespace" && g === "")
  );
}

function setNamespace(ctx: Ctx, res: Res[], ns: string): void {
  for (const r of res) {
    const o = r.obj;
    if (o.kind === "Namespace" && groupOf(o.apiVersion) === "") {
      rename(r, ns);
      continue;
    }
    if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
      // Kustomize's default: subjects named "default" follow the namespace.
      if (Array.isArray(o.subjects)) {
        for (const s of o.subjects) if (isMap(s) && s.name === "default" && s.kind === "ServiceAccount") s.namespace = ns;
      }
    }
    if (isClusterScoped(o.apiVersion, o.kind, ctx.scope)) continue;
    o.metadata.namespace = ns;
    r.namespaces.push(ns);
  }
}

function addToFields(res: Res[], pairs: Record<string, string>, specs: FieldSpec[]): void {
  for (const r of res) {
    for (const fs of specs) {
      if (!specApplies(fs, r.obj.apiVersion, r.obj.kind)) continue;
      walkPath(r.obj, fs.path, fs.create === true, (parent, key) => {
        const cur = parent[key];
        parent[key] = { ...(isMap(cur) ? cur : {}), ...pairs };
      });
    }
  }
}

const SCALABLE = ["Deployment", "ReplicationController", "ReplicaSet", "StatefulSet"];

function setReplicas(res: Res[], rep: JsonMap, file: string): void {
  const name = rep.name;
  const count = rep.count;
  if (typeof name !== "string" || typeof count !== "number") throw new RenderError("a replicas entry needs name and count", { file });
  if (!res.some((r) => r.names.includes(name))) throw new RenderError(`replicas: no resource named ${name}`, { file });
  for (const r of res) {
    if (!r.names.includes(name)) continue;
    const o = r.obj;
    if (!SCALABLE.includes(o.kind)) {
      throw new RenderError(`replicas: ${o.kind} ${name} is not one of the kinds whose replicas Kustomize sets (${SCALABLE.join(", ")})`, { file });
    }
    o.spec = { ...(isMap(o.spec) ? o.spec : {}), replicas: count };
  }
}

export function splitImage(image: string): { name: string; tag: string; digest: string } {
  const slash = image.indexOf("/");
  const base = slash > 0 ? slash : 0;
  const search = image.slice(base);
  let id = search.indexOf("@");
  let ic = search.indexOf(":");
  if (ic < 0 && id < 0) return { name: image, tag: "", digest: "" };
  if (id >= 0 && (id < ic || ic < 0)) {
    id += base;
    return { name: image.slice(0, id), tag: "", digest: image.slice(id + 1) };
  }
  if (id >= 0 && ic >= 0) {
    id += base;
    ic += base;
    return { name: image.slice(0, ic), tag: image.slice(ic + 1, id), digest: image.slice(id + 1) };
  }
  ic += base;
  return { name: image.slice(0, ic), tag: image.slice(ic + 1), digest: "" };
}

function setImages(res: Res[], img: JsonMap, file: string): void {
  const match = img.name;
  if (typeof match !== "string") throw new RenderError("an images entry needs a name", { file });
  const newName = typeof img.newName === "string" ? img.newName : "";
  const newTag = img.newTag === undefined ? "" : String(img.newTag);
  const digest = typeof img.digest === "string" ? img.digest : "";
  const update = (value: string): string => {
    const parts = splitImage(value);
    if (parts.name !== match) return value;
    let { name, tag, digest: d } = parts;
    if (newName) name = newName;
    if (newTag && digest) {
      tag = newTag;
      d = digest;
    } else if (newTag) {
      tag = newTag;
      d = "";
    } else if (digest) {
      tag = "";
      d = digest;
    }
    return `${name}${tag ? `:${tag}` : ""}${d ? `@${d}` : ""}`;
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isMap(node)) {
      for (const [key, v] of Object.entries(node)) {
        if ((key === "containers" || key === "initContainers") && Array.isArray(v)) {
          for (const c of v) if (isMap(c) && typeof c.image === "string") c.image = update(c.image);
        }
        visit(v);
      }
    }
  };
  for (const r of res) visit(r.obj);
}

// ---- replacements ----------------------------------------------------------------------------------------------

type PathSeg = { kind: "key"; key: string } | { kind: "match"; key: string; value: string } | { kind: "all" };

/** Kustomize field paths: dot-separated; `[k=v]` picks list items, `[a.b/c]` is a map key with dots, `*` every item. */
function parseFieldPath(fp: string, file: string): PathSeg[] {
  const segs: string[] = [];
  let cur = "";
  let depth = 0;
  for (const c of fp) {
    if (c === "[") depth++;
    if (c === "]") depth--;
    if (c === "." && depth === 0) {
      segs.push(cur);
      cur = "";
    } else cur += c;
  }
  segs.push(cur);
  return segs.map((s) => {
    if (!s) throw new RenderError(`field path ${JSON.stringify(fp)} has an empty segment`, { file });
    if (s === "*") return { kind: "all" };
    const m = s.match(/^\[([^=\]]+)=([^\]]*)\]$/);
    if (m) return { kind: "match", key: m[1]!, value: m[2]! };
    const b = s.match(/^\[([^\]]+)\]$/);
    return { kind: "key", key: b ? b[1]! : s };
  });
}

/** Every (container, key) a field path reaches; with `create`, missing maps, keys and `[k=v]` items are made. */
function reach(node: unknown, segs: PathSeg[], create: boolean): { parent: JsonMap | unknown[]; key: string | number }[] {
  const out: { parent: JsonMap | unknown[]; key: string | number }[] = [];
  const walk = (n: unknown, i: number): void => {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const step = (parent: JsonMap | unknown[], key: string | number): void => {
      if (last) out.push({ parent, key });
      else {
        const child = (parent as Record<string | number, unknown>)[key];
        if ((child === undefined || child === null) && create && !Array.isArray(parent)) {
          // The next segment says what to make: a list for an index or an item match, else a map.
          const next = segs[i + 1]!;
          const listNext = next.kind === "match" || next.kind === "all" || (next.kind === "key" && /^\d+$/.test(next.key));
          (parent as JsonMap)[key as string] = listNext ? [] : {};
        }
        walk((parent as Record<string | number, unknown>)[key], i + 1);
      }
    };
    if (seg.kind === "all") {
      if (Array.isArray(n)) n.forEach((_, idx) => step(n, idx));
      return;
    }
    if (seg.kind === "match") {
      if (!Array.isArray(n)) return;
      let found = false;
      n.forEach((el, idx) => {
        if (isMap(el) && String(el[seg.key]) === seg.value) {
          found = true;
          step(n, idx);
        }
      });
      if (!found && create) {
        n.push({ [seg.key]: seg.value });
        step(n, n.length - 1);
      }
      return;
    }
    if (Array.isArray(n) && /^\d+$/.test(seg.key)) {
      const idx = Number(seg.key);
      if (idx < n.length || (create && idx === n.length)) step(n, idx);
      return;
    }
    if (!isMap(n)) return;
    if (n[seg.key] === undefined && !create) return;
    step(n, seg.key);
  };
  walk(node, 0);
  return out.filter(({ parent, key }) => create || (parent as Record<string | number, unknown>)[key] !== undefined);
}

function applyReplacement(res: Res[], rep: JsonMap, file: string): void {
  const src = isMap(rep.source) ? rep.source : undefined;
  if (!src) throw new RenderError("a replacement needs a source", { file });
  const sources = select(res, src);
  const srcDesc = `${String(src.kind ?? "?")} ${String(src.name ?? "?")}`;
  if (sources.length === 0) throw new RenderError(`replacement source ${srcDesc} selects nothing`, { file });
  if (sources.length > 1) throw new RenderError(`replacement source ${srcDesc} selects ${sources.length} resources; narrow it`, { file });
  const fp = typeof src.fieldPath === "string" ? src.fieldPath : "metadata.name";
  const hits = reach(sources[0]!.obj, parseFieldPath(fp, file), false);
  if (hits.length === 0) throw new RenderError(`replacement source ${srcDesc} has no field ${fp}`, { file });
  let value: unknown = clone((hits[0]!.parent as Record<string | number, unknown>)[hits[0]!.key]);
  const so = isMap(src.options) ? src.options : {};
  if (typeof so.delimiter === "string" && so.delimiter) {
    const parts = String(value).split(so.delimiter);
    const idx = typeof so.index === "number" ? so.index : 0;
    if (idx < 0 || idx >= parts.length) throw new RenderError(`replacement source ${srcDesc} ${fp}: index ${idx} is out of range for ${JSON.stringify(value)}`, { file });
    value = parts[idx];
  }
  for (const t of list(rep.targets, file, "replacement targets")) {
    if (!isMap(t.select)) throw new RenderError("a replacement target needs select", { file });
    const rejects = list(t.reject, file, "reject");
    const targets = select(res, t.select).filter((r) => !rejects.some((rj) => select([r], rj).length > 0));
    const opts = isMap(t.options) ? t.options : {};
    const create = opts.create === true;
    for (const r of targets) {
      for (const path of strings(t.fieldPaths, file, "fieldPaths")) {
        const spots = reach(r.obj, parseFieldPath(path, file), create);
        if (spots.length === 0) throw new RenderError(`replacement target ${describeRes(r)} has no field ${path} (set options.create to add it)`, { file });
        for (const { parent, key } of spots) {
          const p = parent as Record<string | number, unknown>;
          p[key] = replacedValue(p[key], value, opts, `${describeRes(r)} ${path}`, file);
        }
      }
    }
  }
}

/** The new value: the target keeps its type (a number stays a number); a created field takes the value's YAML type. */
function replacedValue(current: unknown, value: unknown, opts: JsonMap, where: string, file: string): unknown {
  let v = value;
  if (typeof opts.delimiter === "string" && opts.delimiter) {
    const parts = String(current ?? "").split(opts.delimiter);
    const idx = typeof opts.index === "number" ? opts.index : 0;
    const text = String(value);
    if (idx < 0) parts.unshift(text);
    else if (idx >= parts.length) parts.push(text);
    else parts[idx] = text;
    v = parts.join(opts.delimiter);
  }
  if (isMap(v) || Array.isArray(v)) return clone(v);
  const text = String(v);
  if (typeof current === "string") return text;
  if (typeof current === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) throw new RenderError(`replacement: ${where} is a number and cannot take ${JSON.stringify(text)}`, { file });
    return n;
  }
  if (typeof current === "boolean") {
    if (text !== "true" && text !== "false") throw new RenderError(`replacement: ${where} is a boolean and cannot take ${JSON.stringify(text)}`, { file });
    return text === "true";
  }
  if (current === undefined || current === null) {
    if (typeof v !== "string") return v;
    return parseYamlDocs(`v: ${JSON.stringify(text) === `"${text}"` && /^[\w.:/@-]*$/.test(text) ? text : JSON.stringify(text)}`, file, { maxAliasCount: 0, maxDepth: 3 })
      .map((d) => (d.value as JsonMap).v)[0];
  }
  return v;
}

// ---- patches ---------------------------------------------------------------------------------------------------

function applyPatchText(ctx: Ctx, res: Res[], text: string, where: string, target: JsonMap | undefined, mode: "smp" | "json6902" | "auto"): Res[] {
  const docs = parseYamlDocs(text, where, ctx.root.limits);
  if (docs.length === 0) throw new RenderError("patch is empty", { file: where });
  const isJson6902 = mode === "json6902" || (mode === "auto" && Array.isArray(docs[0]!.value));
  if (isJson6902) {
    if (!target) throw new RenderError("a JSON 6902 patch needs a `target`", { file: where });
    const ops = docs[0]!.value;
    if (!Array.isArray(ops)) throw new RenderError("a JSON 6902 patch must be a list of operations", { file: where });
    const matched = select(res, target);
    if (matched.length === 0 && mode === "json6902") throw noTarget(target, where);
    for (const r of matched) {
      try {
        r.obj = applyJson6902(r.obj, ops as Operation[]);
      } catch (err) {
        throw new RenderError(`JSON 6902 patch failed on ${describeRes(r)}: ${(err as Error).message.split("\n")[0]}`, { file: where }, { cause: err });
      }
    }
    return res;
  }
  let out = res;
  for (const doc of docs) {
    if (!isMap(doc.value)) throw new RenderError("a strategic merge patch must be a map", { file: where, line: doc.line });
    const patch = doc.value;
    let matched: Res[];
    if (target) matched = select(out, target);
    else {
      const md = isMap(patch.metadata) ? patch.metadata : {};
      if (typeof patch.kind !== "string" || typeof md.name !== "string") {
        throw new RenderError("a strategic merge patch without a target needs kind and metadata.name", { file: where, line: doc.line });
      }
      const g = typeof patch.apiVersion === "string" ? groupOf(patch.apiVersion) : undefined;
      matched = out.filter(
        (r) =>
          r.obj.kind === patch.kind &&
          (g === undefined || groupOf(r.obj.apiVersion) === g) &&
          r.names.includes(md.name as string) &&
          (md.namespace === undefined || r.obj.metadata.namespace === md.namespace || r.namespaces.includes(md.namespace as string)),
      );
      if (matched.length === 0) {
        throw new RenderError(`patch targets ${patch.kind} ${md.namespace ? `${String(md.namespace)}/` : ""}${md.name}, which is not among the resources`, {
          file: where,
          line: doc.line,
        });
      }
      if (matched.length > 1) throw new RenderError(`patch matches ${matched.length} resources named ${md.name}; add a namespace`, { file: where, line: doc.line });
    }
    const deleted = new Set<Res>();
    for (const r of matched) {
      const body: JsonMap = { ...patch };
      // The patch may not rename or re-kind its target.
      delete body.apiVersion;
      delete body.kind;
      if (isMap(body.metadata)) {
        const md: JsonMap = { ...body.metadata };
        delete md.name;
        delete md.namespace;
        body.metadata = md;
      }
      const merged = strategicMerge(r.obj, body, { apiVersion: r.obj.apiVersion, kind: r.obj.kind });
      if (merged === DELETE) deleted.add(r);
      else r.obj = merged as KubeObject;
    }
    if (deleted.size) out = out.filter((r) => !deleted.has(r));
  }
  return out;
}

/**
 * JSON 6902 as Kustomize applies it: while transforming, every object carries (internal) annotations, so paths under
 * /metadata/annotations exist even when the source had none; and `replace` of a missing key in an existing map adds
 * it. An annotations map left empty is dropped again.
 */
function applyJson6902(obj: KubeObject, ops: Operation[]): KubeObject {
  let doc = clone(obj);
  const hadAnnotations = isMap(doc.metadata.annotations);
  if (!hadAnnotations) doc.metadata.annotations = {};
  for (const op of ops) {
    let effective = op;
    if (op.op === "replace") {
      const parentPath = op.path.slice(0, op.path.lastIndexOf("/"));
      let exists = true;
      try {
        exists = jsonPatch.getValueByPointer(doc, op.path) !== undefined;
      } catch {
        exists = false;
      }
      let parent: unknown;
      try {
        parent = parentPath === "" ? doc : jsonPatch.getValueByPointer(doc, parentPath);
      } catch {
        parent = undefined;
      }
      if (!exists && isMap(parent)) effective = { op: "add", path: op.path, value: op.value };
    }
    doc = jsonPatch.applyOperation(doc, effective, true, true, false).newDocument;
  }
  if (!hadAnnotations && isMap(doc.metadata) && isMap(doc.metadata.annotations) && Object.keys(doc.metadata.annotations).length === 0) {
    delete doc.metadata.annotations;
  }
  return doc;
}

function describeRes(r: Res): string {
  return `${r.obj.kind} ${r.obj.metadata.namespace ? r.obj.metadata.namespace + "/" : ""}${r.obj.metadata.name}`;
}

function noTarget(target: JsonMap, where: string): RenderError {
  return new RenderError(`patch target ${JSON.stringify(target)} matches no resource`, { file: where });
}

function anchored(pattern: unknown): RegExp | undefined {
  if (pattern === undefined || pattern === null || pattern === "") return undefined;
  // Patterns come from the repository: refuse nested quantifiers, which can backtrack for minutes on one name.
  if (/\([^)]*[+*}][^)]*\)\s*[+*{]/.test(String(pattern)) || String(pattern).length > 500) {
    throw new RenderError(`patch target pattern ${JSON.stringify(pattern)} is too complex (nested quantifiers or over 500 characters)`);
  }
  try {
    return new RegExp(`^(?:${String(pattern)})$`);
  } catch {
    return new RegExp(`^${String(pattern).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  }
}

function select(res: Res[], t: JsonMap): Res[] {
  const group = anchored(t.group);
  const version = anchored(t.version);
  const kind = anchored(t.kind);
  const name = anchored(t.name);
  const ns = anchored(t.namespace);
  const labels = t.labelSelector === undefined ? undefined : parseSelector(String(t.labelSelector));
  const annotations = t.annotationSelector === undefined ? undefined : parseSelector(String(t.annotationSelector));
  return res.filter((r) => {
    const o = r.obj;
    if (group && !group.test(groupOf(o.apiVersion))) return false;
    if (version && !version.test(versionOf(o.apiVersion))) return false;
    if (kind && !kind.test(o.kind)) return false;
    if (name && !r.names.some((n) => name.test(n))) return false;
    if (ns && !r.namespaces.some((n) => ns.test(n ?? ""))) return false;
    if (labels && !labels(o.metadata.labels ?? {})) return false;
    if (annotations && !annotations(o.metadata.annotations ?? {})) return false;
    return true;
  });
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

// ---- name references -------------------------------------------------------------------------------------------

function fixNameReferences(res: Res[], ctx: Ctx): void {
  const renamed = res.filter((r) => r.names.length > 1 || r.namespaces.length > 1);
  if (renamed.length === 0) return;
  const byKind = new Map<string, Res[]>();
  for (const r of renamed) {
    const key = `${groupOf(r.obj.apiVersion)}|${r.obj.kind}`;
    byKind.set(key, [...(byKind.get(key) ?? []), r]);
  }
  const find = (refGroup: string, refKind: string, name: string, referrer: Res): Res | undefined => {
    const cands = (byKind.get(`${refGroup}|${refKind}`) ?? []).filter((c) => c.names.includes(name) && c !== referrer);
    return sameScope(cands, referrer, ctx)[0];
  };
  for (const r of res) {
    const o = r.obj;
    for (const spec of NAME_REF_SPECS) {
      if (spec.kind !== o.kind || (spec.group !== undefined && spec.group !== groupOf(o.apiVersion))) continue;
      if (!byKind.has(`${spec.refGroup}|${spec.refKind}`)) continue;
      if (spec.path === "roleRef/name" && isMap(o.roleRef) && o.roleRef.kind !== spec.refKind) continue;
      if (spec.path === "spec/scaleTargetRef/name") {
        const st = isMap(o.spec) && isMap(o.spec.scaleTargetRef) ? o.spec.scaleTargetRef : {};
        if (st.kind !== spec.refKind) continue;
      }
      walkPath(o, spec.path, false, (parent, key) => {
        const v = parent[key];
        if (typeof v === "string") {
          const hit = find(spec.refGroup, spec.refKind, v, r);
          if (hit) parent[key] = hit.obj.metadata.name;
        } else if (Array.isArray(v)) {
          parent[key] = v.map((x) => (typeof x === "string" ? (find(spec.refGroup, spec.refKind, x, r)?.obj.metadata.name ?? x) : x));
        }
      });
    }
    // References that carry both name and namespace: both follow the referent (Kustomize matches any subject kind).
    const g = groupOf(o.apiVersion);
    if ((o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") && g === "rbac.authorization.k8s.io") {
      walkPath(o, "subjects", false, (parent, key) => {
        const v = parent[key];
        if (Array.isArray(v)) for (const s of v) fixNamespacedRef(s, byKind.get("|ServiceAccount"));
      });
    }
    if ((o.kind === "ValidatingWebhookConfiguration" || o.kind === "MutatingWebhookConfiguration") && g === "admissionregistration.k8s.io") {
      walkPath(o, "webhooks/clientConfig/service", false, (parent, key) => fixNamespacedRef(parent[key], byKind.get("|Service")));
    }
    if (o.kind === "APIService" && g === "apiregistration.k8s.io") {
      walkPath(o, "spec/service", false, (parent, key) => fixNamespacedRef(parent[key], byKind.get("|Service")));
    }
  }
}

function fixNamespacedRef(ref: unknown, candidates: Res[] | undefined): void {
  if (!isMap(ref) || typeof ref.name !== "string" || !candidates) return;
  const hit = candidates.find(
    (c) => c.names.includes(ref.name as string) && (ref.namespace === undefined || c.namespaces.some((n) => (n ?? "default") === ref.namespace)),
  );
  if (!hit) return;
  ref.name = hit.obj.metadata.name;
  if (hit.obj.metadata.namespace !== undefined) ref.namespace = hit.obj.metadata.namespace;
}

function sameScope(cands: Res[], referrer: Res, ctx: Ctx): Res[] {
  if (isClusterScoped(referrer.obj.apiVersion, referrer.obj.kind, ctx.scope)) return cands;
  return cands.filter((c) => isClusterScoped(c.obj.apiVersion, c.obj.kind, ctx.scope) || c.obj.metadata.namespace === referrer.obj.metadata.namespace);
}

// ---- output order ----------------------------------------------------------------------------------------------

const ORDER_FIRST = [
  "Namespace",
  "ResourceQuota",
  "StorageClass",
  "CustomResourceDefinition",
  "ServiceAccount",
  "PodSecurityPolicy",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
  "ConfigMap",
  "Secret",
  "Endpoints",
  "Service",
  "LimitRange",
  "PriorityClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "Deployment",
  "StatefulSet",
  "CronJob",
  "PodDisruptionBudget",
];
const ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/**
 * Kustomize's "legacy" order: well-known kinds first (namespaces before what lives in them), webhooks last, the rest
 * by "group_version_kind" (a missing group sorts as "~G", after every letter), then namespace and name.
 */
export function legacySort(objs: KubeObject[]): KubeObject[] {
  const rank = (k: string): number => {
    const f = ORDER_FIRST.indexOf(k);
    if (f >= 0) return f - ORDER_FIRST.length;
    const l = ORDER_LAST.indexOf(k);
    return l >= 0 ? 1 + l : 0;
  };
  const gvk = (o: KubeObject): string => `${groupOf(o.apiVersion) || "~G"}_${versionOf(o.apiVersion) || "~V"}_${o.kind || "~K"}`;
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return objs
    .map((o, i) => ({ o, i, r: rank(o.kind), g: gvk(o), n: `${o.metadata.namespace || "~X"}|${o.metadata.name}` }))
    .sort((a, b) => a.r - b.r || cmp(a.g, b.g) || cmp(a.n, b.n) || a.i - b.i)
    .map((x) => x.o);
}

// ---- overrides on top of any renderer --------------------------------------------------------------------------

export interface Overrides {
  namePrefix?: string;
  nameSuffix?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  /** Strategic merge or JSON 6902 patches (YAML/JSON text or an object/list), optionally with a Kustomize target. */
  patches?: { patch: string | JsonMap | unknown[]; target?: JsonMap }[];
}

/**
 * Applies an Application's overrides to already-rendered objects, with Kustomize's semantics: patches first, then
 * name prefix/suffix (with name references updated), then images.
 */
export function applyOverrides(root: ArtifactRoot, objects: KubeObject[], ov: Overrides, opts: KustomizeOptions = {}, source = "spec.render"): KubeObject[] {
  const ctx: Ctx = { root, scope: opts.scope, stack: [] };
  let res = objects.map((o) => newRes(clone(o), source, false));
  (ov.patches ?? []).forEach((p, i) => {
    const text = typeof p.patch === "string" ? p.patch : JSON.stringify(p.patch);
    res = applyPatchText(ctx, res, text, `${source}.patches[${i}]`, p.target, "auto");
  });
  if (ov.namePrefix || ov.nameSuffix) {
    for (const r of res) if (!skipsPrefix(r.obj)) rename(r, `${ov.namePrefix ?? ""}${r.obj.metadata.name}${ov.nameSuffix ?? ""}`);
  }
  for (const img of ov.images ?? []) setImages(res, img as unknown as JsonMap, source);
  fixNameReferences(res, ctx);
  return res.map((r) => r.obj);
}

// The kustomize renderer: a kustomization interpreted natively, following `kubectl kustomize` (Kustomize v5) step by
// step (api/internal/target/kusttarget.go): resources and their sub-kustomizations accumulate, generators run,
// components apply, then the builtin transformers in Kustomize's order, then the `transformers:` plugins, the
// validators, and the vars are recorded. At the top level, content hashes are appended to generated names, every
// name reference is updated, vars are substituted, local-config objects are dropped and the output is sorted.
import * as path from "node:path";
import { RenderError } from "../errors.js";
import type { ArtifactRoot } from "../fs.js";
import { clone, isMap, setOrigin, type JsonMap, type KubeObject, type ScopeResolver } from "../objects.js";
import { toYamlText } from "../yaml.js";
import { configFromCrds } from "./crds.js";
import { readFileUnder, underKustomization, type Acc, type Ctx, type Kust } from "./context.js";
import { parseManifestDocs } from "./fastyaml.js";
import { bool, checkKeys, mapList, str, stringList, stringMap } from "./fields.js";
import { makeDefaultConfig, mergeConfig, readConfig, emptyConfig, type FieldSpec } from "./fieldspecs.js";
import { generate, mergeGenOptions, readGenArgs, readGenOptions } from "./generators.js";
import { kustomizeHash } from "./hash.js";
import { sortResources } from "./order.js";
import { fixNameReferences } from "./nameref.js";
import { loadCustomSchema } from "./openapi.js";
import { applyJson6902Patch, applyPatch, applyStrategicMergePatches, type PatchEnv } from "./patches.js";
import { applyReplacement, replacementsFromFile } from "./replacements.js";
import {
  allIds,
  checkResource,
  cloneRes,
  curId,
  idConflict,
  idEquals,
  idString,
  newRes,
  storePreviousId,
  type Origin,
  type Res,
} from "./resource.js";
import {
  addAnnotations,
  addLabels,
  addPrefixSuffix,
  namespaceOne,
  selectRes,
  setImages,
  setNamespace,
  setReplicas,
  valueAdd,
  type ImageSpec,
  type SubjectMode,
} from "./transformers.js";
import { mergeVars, readVars, resolveVars } from "./vars.js";

export { legacySort } from "./order.js";
export { parseSelector, splitImage } from "./transformers.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export interface KustomizeOptions {
  /** Decides scope for kinds Kustomize's built-in list does not know (CRDs); default: namespaced, as in Kustomize. */
  scope?: ScopeResolver;
  /** Receives Kustomize's warnings (unused vars); default: ignored. */
  warn?: (message: string) => void;
}

function emptyAcc(): Acc {
  return { res: [], config: emptyConfig(), vars: new Map() };
}

export function findKustomization(root: ArtifactRoot, dir: string): string | undefined {
  const found = KUSTOMIZATION_FILES.map((f) => (dir ? `${dir}/${f}` : f)).filter((f) => root.isFile(f));
  if (found.length > 1) throw new RenderError(`found more than one kustomization file (${found.join(", ")}); keep one`, { file: dir || "." });
  return found[0];
}

const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** What `kubectl kustomize` (kubectl v1.32, Kustomize v5.5 built in) writes for buildMetadata: [managedByLabel]. */
const MANAGED_BY_VALUE = "kustomize-(devel)";
const ORIGIN_ANNOTATION = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION = "alpha.config.kubernetes.io/transformations";
const LOCAL_CONFIG_ANNOTATION = "config.kubernetes.io/local-config";
const BUILD_METADATA = ["originAnnotations", "transformerAnnotations", "managedByLabel"];

/** Renders the kustomization in `dir` (root-relative). */
export function renderKustomize(root: ArtifactRoot, dir: string, opts: KustomizeOptions = {}): KubeObject[] {
  const ctx: Ctx = { root, scope: opts.scope, stack: [], schemaSet: false, origins: false, warn: opts.warn ?? (() => undefined) };
  const top = loadKustomization(ctx, dir);
  setSchema(ctx, top, true);
  const buildMetadata = stringList(top.k.buildMetadata, top.file, "buildMetadata");
  for (const b of buildMetadata) {
    if (!BUILD_METADATA.includes(b)) throw new RenderError(`buildMetadata: unknown option ${JSON.stringify(b)} (known: ${BUILD_METADATA.join(", ")})`, { file: top.file });
  }
  ctx.origins = buildMetadata.length > 0;
  const acc = accumulate(ctx, top, emptyAcc(), "");
  for (const r of acc.res) {
    if (!r.needsHash) continue;
    const h = kustomizeHash(r.obj);
    storePreviousId(r, ctx.scope);
    r.obj.metadata.name = `${r.obj.metadata.name}-${h}`;
  }
  fixNameReferences(acc.res, acc.config.nameReference, top.file, ctx.scope);
  resolveVars(acc.res, acc.vars, acc.config.varReference, ctx.warn, ctx.scope);
  let res = acc.res.filter((r) => {
    const v = r.obj.metadata.annotations?.[LOCAL_CONFIG_ANNOTATION];
    return v === undefined || v === "false";
  });
  res = sortResources(res, top);
  if (buildMetadata.includes("managedByLabel")) {
    for (const r of res) r.obj.metadata.labels = { ...(r.obj.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  }
  const out = res.map((r) => {
    const annotations: Record<string, string> = {};
    if (buildMetadata.includes("originAnnotations") && r.origin) annotations[ORIGIN_ANNOTATION] = toYamlText(originYaml(r.origin));
    if (buildMetadata.includes("transformerAnnotations") && r.transformations?.length) {
      annotations[TRANSFORMATIONS_ANNOTATION] = toYamlText(r.transformations.map(originYaml));
    }
    if (Object.keys(annotations).length) r.obj.metadata.annotations = { ...(r.obj.metadata.annotations ?? {}), ...annotations };
    setOrigin(r.obj, { file: r.file, line: r.line });
    return r.obj;
  });
  kustomizeOutputs.add(out);
  return out;
}

// Kustomize builds a resource that has a kind and a name but no apiVersion (its examples do: breakfast's Coffee), and
// `kubectl kustomize` prints it as it is. `mooring render` must print the same, so the post-render shape check, which
// refuses such an object from plain manifests and charts (no tool stands behind those), lets this renderer's output
// through; the API server refuses the object at apply time. The list renderKustomize returned is recognised by
// identity, so render() need not pass the renderer's name along (the oracle test renders fixture 56 through render()).
const kustomizeOutputs = new WeakSet<readonly KubeObject[]>();

/** Whether `objects` is the list renderKustomize returned (objects in it may lack apiVersion, as in Kustomize). */
export function isKustomizeOutput(objects: readonly KubeObject[]): boolean {
  return kustomizeOutputs.has(objects);
}

function originYaml(o: Origin): JsonMap {
  const out: JsonMap = {};
  if (o.path) out.path = o.path;
  if (o.repo) out.repo = o.repo;
  if (o.ref) out.ref = o.ref;
  if (o.configuredIn) out.configuredIn = o.configuredIn;
  if (o.configuredBy) {
    const by: JsonMap = { apiVersion: o.configuredBy.apiVersion, kind: o.configuredBy.kind };
    if (o.configuredBy.name) by.name = o.configuredBy.name;
    if (o.configuredBy.namespace) by.namespace = o.configuredBy.namespace;
    out.configuredBy = by;
  }
  return out;
}

// ---- loading ---------------------------------------------------------------------------------------------------

const KNOWN_FIELDS = new Set([
  "apiVersion",
  "kind",
  "metadata",
  "openapi",
  "namePrefix",
  "nameSuffix",
  "namespace",
  "commonLabels",
  "labels",
  "commonAnnotations",
  "patchesStrategicMerge",
  "patchesJson6902",
  "patches",
  "images",
  "imageTags",
  "replacements",
  "replicas",
  "vars",
  "sortOptions",
  "resources",
  "components",
  "crds",
  "bases",
  "configMapGenerator",
  "secretGenerator",
  "generatorOptions",
  "configurations",
  "generators",
  "transformers",
  "validators",
  "buildMetadata",
]);

/** Fields `kubectl kustomize` accepts that need what Mooring never does in a render (running helm, the network). */
const REFUSED_FIELDS: Record<string, string> = {
  helmCharts: "it runs the helm binary and downloads charts; render the chart with Mooring's helm renderer or commit its output",
  helmGlobals: "it configures helmCharts, which run the helm binary; render the chart with Mooring's helm renderer or commit its output",
  helmChartInflationGenerator: "it runs the helm binary; render the chart with Mooring's helm renderer or commit its output",
};

function loadKustomization(ctx: Ctx, dir: string): Kust {
  const file = findKustomization(ctx.root, dir);
  if (!file) {
    throw new RenderError(`directory has no kustomization.yaml (looked for ${KUSTOMIZATION_FILES.join(", ")})`, { file: dir || "." });
  }
  const docs = parseManifestDocs(ctx.root.readText(file), file, ctx.root.limits, { yaml11Booleans: true });
  if (docs.length === 0) throw new RenderError("kustomization.yaml is empty", { file });
  if (docs.length !== 1 || !isMap(docs[0]!.value)) throw new RenderError("a kustomization must be exactly one YAML map", { file });
  const k = docs[0]!.value;
  for (const key of Object.keys(k)) {
    const why = REFUSED_FIELDS[key];
    if (why) throw new RenderError(`kustomization field "${key}" is not supported by Mooring: ${why}`, { file });
    if (!KNOWN_FIELDS.has(key)) throw new RenderError(`unknown kustomization field "${key}"`, { file });
  }
  const kind = k.kind ?? "Kustomization";
  if (kind !== "Kustomization" && kind !== "Component") throw new RenderError("kind should be Kustomization or Component", { file });
  const want = kind === "Component" ? "kustomize.config.k8s.io/v1alpha1" : "kustomize.config.k8s.io/v1beta1";
  if (k.apiVersion !== undefined && k.apiVersion !== null && k.apiVersion !== want) throw new RenderError(`apiVersion for ${String(kind)} should be ${want}`, { file });
  if (Object.keys(k).every((key) => key === "apiVersion" || key === "kind")) throw new RenderError("kustomization.yaml is empty", { file });
  return { dir, file, k };
}

function setSchema(ctx: Ctx, kust: Kust, reset: boolean): void {
  const oa = kust.k.openapi;
  if (oa === undefined || oa === null) {
    if (reset) {
      ctx.schema = undefined;
      ctx.schemaSet = false;
    }
    return;
  }
  if (!isMap(oa)) throw new RenderError('"openapi" must be a map with path (a schema file) or version', { file: kust.file });
  for (const key of Object.keys(oa)) {
    if (key !== "path" && key !== "version") throw new RenderError(`openapi: unknown field "${key}" (use path or version)`, { file: kust.file });
  }
  if (ctx.schemaSet && !reset) return;
  if (typeof oa.path === "string" && oa.path) {
    if (oa.version !== undefined) throw new RenderError("openapi: builtin version and custom schema provided, cannot use both", { file: kust.file });
    const { text, where: p } = readFileUnder(ctx.root, kust, oa.path, "openapi path");
    const docs = parseManifestDocs(text, p, ctx.root.limits);
    if (docs.length !== 1) throw new RenderError("an openapi schema file must hold one JSON or YAML document", { file: p });
    ctx.schema = loadCustomSchema(docs[0]!.value, p);
    ctx.schemaSet = true;
    return;
  }
  if (oa.version !== undefined && oa.version !== null && oa.version !== "") {
    if (oa.version !== "v1.21.2") {
      throw new RenderError(`openapi: the specified OpenAPI version ${JSON.stringify(oa.version)} is not built in (Kustomize has v1.21.2)`, { file: kust.file });
    }
    ctx.schema = undefined;
    ctx.schemaSet = true;
  }
}

const REMOTE = /^(https?:\/\/|git@|ssh:\/\/|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)|\?ref=|\.git(\/\/|$)/;

function remoteError(r: string, file: string): RenderError {
  return new RenderError(
    `remote base ${JSON.stringify(r)} is not supported: Mooring renders only what is in the source artifact; vendor the base into the repository or add it as its own source`,
    { file },
  );
}

function joinOrigin(base: string, p: string): string {
  const j = path.posix.normalize(path.posix.join(base || ".", p));
  return j === "." ? "" : j;
}

// ---- accumulation ---------------------------------------------------------------------------------------------

function accumulate(ctx: Ctx, kust: Kust, acc: Acc, origin: string): Acc {
  const { dir, file, k } = kust;
  if (ctx.stack.includes(dir)) {
    throw new RenderError(`kustomization cycle: ${[...ctx.stack, dir].map((d) => d || ".").join(" -> ")}`, { file: dir || "." });
  }
  if (ctx.stack.length > 50) throw new RenderError("kustomizations nest more than 50 levels deep", { file: dir || "." });
  ctx.stack.push(dir);
  try {
    for (const r of stringList(k.resources, file, "resources")) accumulateResource(ctx, acc, kust, r, origin);
    for (const r of stringList(k.bases, file, "bases")) accumulateResource(ctx, acc, kust, r, origin, "base");
    let tc = makeDefaultConfig();
    const configs = stringList(k.configurations, file, "configurations");
    if (configs.length) {
      let loaded = emptyConfig();
      for (const c of configs) {
        const { text, where } = readFileUnder(ctx.root, kust, c, "configurations entry");
        const docs = parseManifestDocs(text, where, ctx.root.limits, { yaml11Booleans: true });
        loaded = mergeConfig(loaded, readConfig(docs[0]?.value, where), where);
      }
      tc = mergeConfig(tc, loaded, file);
    }
    acc.config = mergeConfig(acc.config, tc, file);
    for (const c of stringList(k.crds, file, "crds")) {
      const { text, where } = readFileUnder(ctx.root, kust, c, "crds entry");
      acc.config = mergeConfig(acc.config, configFromCrds(parseManifestDocs(text, where, ctx.root.limits)[0]?.value, where), where);
    }
    runGenerators(ctx, acc, kust, origin);
    for (const c of stringList(k.components, file, "components")) {
      if (REMOTE.test(c)) throw remoteError(c, file);
      const cdir = ctx.root.resolve(c, dir, "component", file, "directory");
      const sub = loadKustomization(ctx, cdir);
      if (sub.k.kind !== "Component") throw new RenderError(`is listed under "components" but is a ${String(sub.k.kind ?? "Kustomization")}`, { file: sub.file });
      setSchema(ctx, sub, false);
      acc = accumulate(ctx, sub, acc, joinOrigin(origin, c));
    }
    runTransformers(ctx, acc, kust, origin);
    runValidators(ctx, acc, kust, origin);
    mergeVars(acc.res, acc.vars, readVars(k.vars, file), ctx.scope);
    return acc;
  } finally {
    ctx.stack.pop();
  }
}

function accumulateResource(ctx: Ctx, acc: Acc, kust: Kust, rel: string, origin: string, what: "resource" | "base" = "resource"): void {
  if (REMOTE.test(rel)) throw remoteError(rel, kust.file);
  const p = ctx.root.resolve(rel, kust.dir, what, kust.file);
  if (ctx.root.isDir(p)) {
    const inside = ctx.stack.find((d) => d !== p && (p === "" || d.startsWith(`${p}/`)));
    if (inside !== undefined) {
      throw new RenderError(`cycle detected: resource ${JSON.stringify(rel)} (${p || "."}) contains the kustomization ${inside || "."} that is being built`, { file: kust.file });
    }
    const sub = loadKustomization(ctx, p);
    if (sub.k.kind === "Component") throw new RenderError(`is a Component; list it under "components", not "resources"`, { file: sub.file });
    setSchema(ctx, sub, false);
    const subAcc = accumulate(ctx, sub, emptyAcc(), joinOrigin(origin, rel));
    appendAll(acc.res, subAcc.res, kust.file, ctx);
    acc.config = mergeConfig(acc.config, subAcc.config, kust.file);
    for (const [name, v] of subAcc.vars) {
      if (acc.vars.has(name)) throw new RenderError(`var '${name}' already encountered`, { file: kust.file });
      acc.vars.set(name, v);
    }
    return;
  }
  underKustomization(p, rel, kust.dir, kust.file, what);
  const loaded = resourcesFromText(ctx.root.readText(p), p, ctx);
  if (ctx.origins) for (const r of loaded) r.origin = { path: joinOrigin(origin, rel) };
  appendAll(acc.res, loaded, kust.file, ctx);
}

/** Kustomize's reading of a resource file: documents, Lists inlined (after the file's other documents), checks. */
function resourcesFromText(text: string, file: string, ctx: Ctx): Res[] {
  const queue: { value: unknown; line?: number }[] = parseManifestDocs(text, file, ctx.root.limits).map((d) => ({ value: d.value, line: d.line }));
  const out: Res[] = [];
  while (queue.length) {
    const { value, line } = queue.shift()!;
    if (!isMap(value)) throw new RenderError(`document is ${Array.isArray(value) ? "a list" : `a ${typeof value}`}, not a Kubernetes object`, { file, line });
    if (Object.keys(value).length === 0) continue;
    if (typeof value.kind !== "string" || !value.kind) throw new RenderError("missing kind in object (every resource needs kind and metadata.name)", { file, line });
    if (value.kind.endsWith("List") && "items" in value) {
      const items = value.items;
      if (items === null || items === undefined) continue;
      if (!Array.isArray(items)) throw new RenderError(`expected array in ${value.kind}/items`, { file, line });
      for (const item of items) {
        if (item === null || (isMap(item) && Object.keys(item).length === 0)) continue;
        queue.push({ value: item, line });
      }
      continue;
    }
    if (!value.kind.endsWith("List")) checkResource(value, file, line);
    else if (!isMap(value.metadata)) value.metadata = { name: "" };
    const obj = value as KubeObject;
    setOrigin(obj, { file, line });
    out.push(newRes(obj, file, line));
  }
  return out;
}

/** AppendAll: refuses a resource whose current id equals one already there. */
function appendAll(res: Res[], added: Res[], file: string, ctx: Ctx): void {
  if (added.length === 0) return;
  const dup = idConflict(res, added, ctx.scope);
  if (dup) {
    throw new RenderError(`may not add resource with an already registered id: ${idString(dup.id)} (from ${dup.second.file}; already added from ${dup.first.file})`, { file });
  }
  for (const r of added) res.push(r);
}

// ---- generators ------------------------------------------------------------------------------------------------

function runGenerators(ctx: Ctx, acc: Acc, kust: Kust, origin: string): void {
  const { file, k } = kust;
  const global = readGenOptions(k.generatorOptions, file, "generatorOptions");
  const configuredIn = joinOrigin(origin, path.posix.basename(file));
  for (const [field, kind] of [
    ["configMapGenerator", "ConfigMap"],
    ["secretGenerator", "Secret"],
  ] as const) {
    for (const g of mapList(k[field], file, field)) {
      const args = readGenArgs(g, kind, file, field);
      args.options = mergeGenOptions(args.options, global);
      const r = generate(ctx.root, kust, args, field);
      if (ctx.origins) r.origin = { configuredIn, configuredBy: { apiVersion: "builtin", kind: `${kind}Generator` } };
      absorb(acc.res, r, file, ctx);
    }
  }
  for (const cfg of pluginConfigs(ctx, kust, "generators", origin)) {
    const rs = runGeneratorPlugin(ctx, kust, cfg);
    for (const r of rs) {
      if (ctx.origins && !r.origin) r.origin = pluginOrigin(cfg);
      absorb(acc.res, r, cfg.file, ctx);
    }
  }
}

/** AbsorbAll: a generated resource is added, or merged into / replaces the one with the same id (behavior). */
function absorb(res: Res[], gen: Res, file: string, ctx: Ctx): void {
  const id = curId(gen, ctx.scope);
  const matches = res.filter((r) => allIds(r, ctx.scope).some((x) => idEquals(x, id)));
  const behavior = gen.behavior || "create";
  if (matches.length === 0) {
    if (behavior === "merge" || behavior === "replace") {
      throw new RenderError(`${gen.obj.kind} "${gen.obj.metadata.name}" has behavior ${behavior}, but there is no ${gen.obj.kind} ${idString(id)} to ${behavior}`, { file });
    }
    appendAll(res, [gen], file, ctx);
    return;
  }
  if (matches.length > 1) throw new RenderError(`found multiple objects that could accept the merge of ${idString(id)}`, { file });
  const old = matches[0]!;
  if (behavior !== "merge" && behavior !== "replace") {
    throw new RenderError(
      `${gen.obj.kind} ${idString(id)} already exists; a generator for it needs behavior: merge or replace (it has ${gen.behavior ? `behavior: ${gen.behavior}` : "none"})`,
      { file },
    );
  }
  // CopyMergeMetaDataFieldsFrom: labels and annotations merged (the generator's win), name, namespace and build
  // state from the old object; the hash stays only when both want it. Everything else is the generated object's.
  const o = gen.obj;
  const labels = { ...(old.obj.metadata.labels ?? {}), ...(o.metadata.labels ?? {}) };
  const annotations = { ...(old.obj.metadata.annotations ?? {}), ...(o.metadata.annotations ?? {}) };
  if (Object.keys(labels).length) o.metadata.labels = labels;
  else delete o.metadata.labels;
  if (Object.keys(annotations).length) o.metadata.annotations = annotations;
  else delete o.metadata.annotations;
  o.metadata.name = old.obj.metadata.name;
  if (old.obj.metadata.namespace) o.metadata.namespace = old.obj.metadata.namespace;
  else delete o.metadata.namespace;
  if (behavior === "merge") {
    for (const key of ["data", "binaryData"]) {
      const merged: Record<string, string> = {};
      for (const src of [old.obj[key], o[key]]) {
        if (isMap(src)) for (const [dk, dv] of Object.entries(src)) merged[dk] = dv === null || dv === undefined ? "" : String(dv);
      }
      if (Object.keys(merged).length) o[key] = merged;
      else delete o[key];
    }
  }
  const next: Res = {
    ...gen,
    prev: old.prev,
    prefixes: old.prefixes,
    suffixes: old.suffixes,
    needsHash: old.needsHash && gen.needsHash,
    behavior: old.behavior,
    refVarNames: old.refVarNames,
    origin: behavior === "merge" && old.origin ? old.origin : gen.origin ?? old.origin,
    transformations: old.transformations,
  };
  res[res.indexOf(old)] = next;
}

// ---- transformers --------------------------------------------------------------------------------------------

function env(ctx: Ctx): PatchEnv {
  return { scope: ctx.scope, schema: ctx.schema, limits: ctx.root.limits };
}

/** Records that a transformer ran (buildMetadata: transformerAnnotations), as Kustomize's multi-transformer does. */
function recordTransformer(ctx: Ctx, res: Res[], o: Origin | undefined): void {
  if (!ctx.origins || !o) return;
  for (const r of res) {
    if (!r.origin) r.origin = o;
    else (r.transformations ??= []).push(o);
  }
}

function patchSource(ctx: Ctx, kust: Kust, p: JsonMap, field: string): { text: string; where: string } {
  const hasPatch = typeof p.patch === "string" && p.patch.trim() !== "";
  const hasPath = typeof p.path === "string" && p.path !== "";
  if (hasPatch && hasPath) throw new RenderError(`${field}: patch and path can't be set at the same time`, { file: kust.file });
  // Kustomize trims an inline patch (not one read from a file): a block scalar ending it loses its final newline.
  if (hasPatch) return { text: (p.patch as string).trim(), where: kust.file };
  if (hasPath) return readFileUnder(ctx.root, kust, p.path as string, `${field} path`);
  throw new RenderError(`${field}: must specify one of patch and path`, { file: kust.file });
}

function readPatchOptions(v: unknown, file: string): { allowNameChange?: boolean; allowKindChange?: boolean } {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new RenderError('"patches[].options" must be a map', { file });
  checkKeys(v, ["allowNameChange", "allowKindChange"], file, "patch options");
  return { allowNameChange: bool(v.allowNameChange, file, "allowNameChange"), allowKindChange: bool(v.allowKindChange, file, "allowKindChange") };
}

function readTarget(v: unknown, file: string, field: string): JsonMap | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new RenderError(`${field}.target must be a map`, { file });
  checkKeys(v, ["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"], file, `${field}.target`);
  return v;
}

function readImage(img: JsonMap, file: string): ImageSpec {
  checkKeys(img, ["name", "newName", "newTag", "digest", "tagSuffix"], file, "images entry");
  const name = str(img.name, file, "images[].name");
  if (!name) throw new RenderError("an images entry needs a name", { file });
  return {
    name,
    newName: str(img.newName, file, "images[].newName"),
    newTag: str(img.newTag, file, "images[].newTag (quote it)"),
    digest: str(img.digest, file, "images[].digest"),
    tagSuffix: str(img.tagSuffix, file, "images[].tagSuffix"),
  };
}

function runTransformers(ctx: Ctx, acc: Acc, kust: Kust, origin: string): void {
  const { file, k } = kust;
  const tc = acc.config;
  const builtin = (kind: string): Origin | undefined =>
    ctx.origins ? { configuredIn: joinOrigin(origin, path.posix.basename(file)), configuredBy: { apiVersion: "builtin", kind } } : undefined;
  // Each builtin transformer that ran is recorded on the resources (their origin or transformations annotations).
  const ran = (kind: string): void => recordTransformer(ctx, acc.res, builtin(kind));
  // PatchStrategicMergeTransformer: every entry is a file, or (legacy) the patch itself inline.
  const psm = stringList(k.patchesStrategicMerge, file, "patchesStrategicMerge");
  if (psm.length) {
    const patches = psm.map((s) => (looksInline(s) ? { text: s, where: file } : readFileUnder(ctx.root, kust, s, "patchesStrategicMerge entry")));
    acc.res = applyStrategicMergePatches(acc.res, patches, env(ctx));
    ran("PatchStrategicMergeTransformer");
  }
  for (const p of mapList(k.patches, file, "patches")) {
    checkKeys(p, ["path", "patch", "target", "options"], file, "patches entry");
    const { text, where } = patchSource(ctx, kust, p, "patches");
    acc.res = applyPatch(acc.res, text, where, readTarget(p.target, file, "patches"), readPatchOptions(p.options, file), env(ctx));
    ran("PatchTransformer");
  }
  const ns = str(k.namespace, file, "namespace");
  if (ns) {
    setNamespace(acc.res, { namespace: ns, specs: tc.namespace, scope: ctx.scope, file });
    ran("NamespaceTransformer");
  }
  // The prefix, then the suffix: two transformers in Kustomize, each recorded on its own.
  for (const [field, kind] of [["namePrefix", "PrefixTransformer"], ["nameSuffix", "SuffixTransformer"]] as const) {
    const affix = str(k[field], file, field);
    if (!affix) continue;
    const prefix = field === "namePrefix";
    addPrefixSuffix(acc.res, prefix ? affix : undefined, prefix ? undefined : affix, tc[field], file, ctx.scope);
    ran(kind);
  }
  const common = stringMap(k.commonLabels, file, "commonLabels");
  const labels = mapList(k.labels, file, "labels");
  if (labels.length || Object.keys(common).length) {
    for (const l of labels) {
      checkKeys(l, ["pairs", "includeSelectors", "includeTemplates", "fields"], file, "labels entry");
      const pairs = stringMap(l.pairs, file, "labels.pairs");
      let fss: FieldSpec[] = mapList(l.fields, file, "labels.fields").map((f) => readConfig({ labels: [f] }, file).labels[0]!);
      fss = mergeSpecsFlat(fss, tc.labels, file);
      if (bool(l.includeSelectors, file, "labels.includeSelectors")) fss = mergeSpecsFlat(fss, tc.commonLabels, file);
      else {
        if (bool(l.includeTemplates, file, "labels.includeTemplates")) fss = mergeSpecsFlat(fss, tc.templateLabels, file);
        fss = mergeSpecsFlat(fss, [{ path: "metadata/labels", create: true }], file);
      }
      addLabels(acc.res, pairs, fss, file);
      ran("LabelTransformer");
    }
    addLabels(acc.res, common, tc.commonLabels, file);
    ran("LabelTransformer");
  }
  const annotations = stringMap(k.commonAnnotations, file, "commonAnnotations");
  if (Object.keys(annotations).length) {
    addAnnotations(acc.res, annotations, tc.commonAnnotations, file);
    ran("AnnotationsTransformer");
  }
  for (const p of mapList(k.patchesJson6902, file, "patchesJson6902")) {
    checkKeys(p, ["path", "patch", "target"], file, "patchesJson6902 entry");
    const target = readTarget(p.target, file, "patchesJson6902");
    if (!target) throw new RenderError("a patchesJson6902 entry needs a target", { file });
    const { text, where } = patchSource(ctx, kust, p, "patchesJson6902");
    acc.res = applyJson6902Patch(acc.res, text, where, target, env(ctx));
    ran("PatchJson6902Transformer");
  }
  for (const rep of mapList(k.replicas, file, "replicas")) {
    checkKeys(rep, ["name", "count"], file, "replicas entry");
    const count = rep.count ?? 0;
    if (typeof count !== "number" || !Number.isInteger(count)) throw new RenderError('"replicas[].count" must be an integer', { file });
    setReplicas(acc.res, str(rep.name, file, "replicas[].name"), count, tc.replicas, file, ctx.scope);
    ran("ReplicaCountTransformer");
  }
  for (const img of [...mapList(k.images, file, "images"), ...mapList(k.imageTags, file, "imageTags")]) {
    setImages(acc.res, readImage(img, file), tc.images, file);
    ran("ImageTagTransformer");
  }
  const reps = mapList(k.replacements, file, "replacements");
  if (reps.length) {
    for (const r of expandReplacements(ctx, kust, reps)) applyReplacement(acc.res, r.rep, r.where, ctx.scope);
    ran("ReplacementTransformer");
  }
  for (const cfg of pluginConfigs(ctx, kust, "transformers", origin)) {
    acc.res = runTransformerPlugin(ctx, kust, cfg, acc.res);
    recordTransformer(ctx, acc.res, pluginOrigin(cfg));
  }
}

function mergeSpecsFlat(a: FieldSpec[], b: FieldSpec[], file: string): FieldSpec[] {
  return mergeConfig({ ...emptyConfig(), labels: a }, { ...emptyConfig(), labels: b }, file).labels;
}

function looksInline(s: string): boolean {
  return s.includes("\n") || /^\s*(apiVersion|kind|metadata)\s*:/.test(s);
}

function expandReplacements(ctx: Ctx, kust: Kust, entries: JsonMap[]): { rep: JsonMap; where: string }[] {
  const out: { rep: JsonMap; where: string }[] = [];
  for (const entry of entries) {
    if (typeof entry.path === "string" && entry.path) {
      if (entry.source !== undefined || entry.targets !== undefined) throw new RenderError("cannot specify both path and inline replacement", { file: kust.file });
      const { text, where } = readFileUnder(ctx.root, kust, entry.path, "replacements path");
      for (const rep of replacementsFromFile(text, where, ctx.root.limits)) out.push({ rep, where });
    } else {
      checkKeys(entry, ["source", "targets", "sourceValue"], kust.file, "replacements entry");
      out.push({ rep: entry, where: kust.file });
    }
  }
  return out;
}

function runValidators(ctx: Ctx, acc: Acc, kust: Kust, origin: string): void {
  for (const cfg of pluginConfigs(ctx, kust, "validators", origin)) {
    const before = acc.res.map((r) => JSON.stringify(r.obj));
    const after = runTransformerPlugin(ctx, kust, cfg, acc.res.map(cloneRes)).map((r) => {
      const o = clone(r.obj);
      if (o.metadata.labels) delete o.metadata.labels["validated-by"];
      if (o.metadata.labels && Object.keys(o.metadata.labels).length === 0) delete o.metadata.labels;
      return JSON.stringify(o);
    });
    if (before.length !== after.length || before.some((b, i) => b !== after[i])) {
      throw new RenderError(`validator ${cfg.obj.kind} ${cfg.obj.metadata.name} shouldn't modify the resource map`, { file: cfg.file });
    }
  }
}

// ---- plugin configurations (generators, transformers, validators) ----------------------------------------------

interface PluginConfig {
  obj: KubeObject;
  file: string;
  /** Directory of the kustomization that lists the plugin (files it reads are relative to it). */
  kust: Kust;
  origin?: Origin;
}

function pluginOrigin(cfg: PluginConfig): Origin | undefined {
  if (!cfg.origin?.path) return undefined;
  const by: Origin["configuredBy"] = { apiVersion: cfg.obj.apiVersion, kind: cfg.obj.kind };
  if (cfg.obj.metadata.name) by.name = cfg.obj.metadata.name;
  if (cfg.obj.metadata.namespace) by.namespace = cfg.obj.metadata.namespace;
  return { configuredIn: cfg.origin.path, configuredBy: by };
}

/** The configurations listed in `generators`, `transformers` or `validators`: inline YAML, files or kustomizations. */
function pluginConfigs(ctx: Ctx, kust: Kust, field: "generators" | "transformers" | "validators", origin: string): PluginConfig[] {
  const entries = stringList(kust.k[field], kust.file, field);
  if (entries.length === 0) return [];
  const inline: Res[] = [];
  const paths: string[] = [];
  for (const e of entries) {
    let docs: Res[] | undefined;
    if (e.includes("\n") || /^\s*(apiVersion|kind)\s*:/.test(e)) {
      try {
        docs = resourcesFromText(e, kust.file, ctx);
      } catch {
        docs = undefined;
      }
    }
    if (docs && docs.length) {
      if (ctx.origins) for (const d of docs) d.origin = { path: joinOrigin(origin, path.posix.basename(kust.file)) };
      inline.push(...docs);
    } else paths.push(e);
  }
  const acc = emptyAcc();
  appendAll(acc.res, inline, kust.file, ctx);
  for (const p of paths) accumulateResource(ctx, acc, kust, p, origin);
  return acc.res.map((r) => {
    const obj = r.obj;
    if (obj.apiVersion !== "builtin" || !BUILTIN_PLUGINS.has(obj.kind)) {
      throw new RenderError(
        `${field}: ${String(obj.apiVersion)}/${obj.kind} ${obj.metadata.name} is not a builtin plugin configuration; Mooring runs no exec, Go or KRM function plugins (builtin kinds: ${[...BUILTIN_PLUGINS].join(", ")})`,
        { file: r.file },
      );
    }
    const isGen = GENERATOR_PLUGINS.has(obj.kind);
    if (field === "generators" && !isGen) throw new RenderError(`generators: builtin ${obj.kind} is a transformer, not a generator`, { file: r.file });
    if (field !== "generators" && isGen) throw new RenderError(`${field}: builtin ${obj.kind} is a generator; list it under "generators"`, { file: r.file });
    return { obj, file: r.file, kust, origin: r.origin };
  });
}

const GENERATOR_PLUGINS = new Set(["ConfigMapGenerator", "SecretGenerator", "IAMPolicyGenerator", "HelmChartInflationGenerator"]);
const BUILTIN_PLUGINS = new Set([
  ...GENERATOR_PLUGINS,
  "AnnotationsTransformer",
  "HashTransformer",
  "ImageTagTransformer",
  "LabelTransformer",
  "NamespaceTransformer",
  "PatchJson6902Transformer",
  "PatchStrategicMergeTransformer",
  "PatchTransformer",
  "PrefixSuffixTransformer",
  "PrefixTransformer",
  "SuffixTransformer",
  "ReplacementTransformer",
  "ReplicaCountTransformer",
  "ValueAddTransformer",
]);

const META_KEYS = ["apiVersion", "kind", "metadata"];

function pluginSpecs(v: unknown, file: string, field: string): FieldSpec[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RenderError(`${field} must be a list of field specs`, { file });
  return v.map((x) => readConfig({ labels: [x] }, file).labels[0]!);
}

function runGeneratorPlugin(ctx: Ctx, kust: Kust, cfg: PluginConfig): Res[] {
  const { obj, file } = cfg;
  const md = obj.metadata;
  switch (obj.kind) {
    case "ConfigMapGenerator":
    case "SecretGenerator": {
      const kind = obj.kind === "ConfigMapGenerator" ? "ConfigMap" : "Secret";
      const body: JsonMap = { ...obj };
      for (const k of META_KEYS) delete body[k];
      const args = readGenArgs(body, kind, file, obj.kind);
      args.name ||= md.name;
      args.namespace ||= typeof md.namespace === "string" ? md.namespace : "";
      return [generate(ctx.root, kust, args, obj.kind)];
    }
    case "IAMPolicyGenerator": {
      checkKeys(obj, [...META_KEYS, "cloud", "kubernetesService", "serviceAccount"], file, obj.kind);
      if (obj.cloud !== "gke") throw new RenderError(`IAMPolicyGenerator: cloud provider ${String(obj.cloud)} not supported yet`, { file });
      const ks = isMap(obj.kubernetesService) ? obj.kubernetesService : {};
      const sa = isMap(obj.serviceAccount) ? obj.serviceAccount : {};
      const out: KubeObject = {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: {
          annotations: { "iam.gke.io/gcp-service-account": `${String(sa.name ?? "")}@${String(sa.projectId ?? "")}.iam.gserviceaccount.com` },
          name: String(ks.name ?? ""),
        },
      };
      if (typeof ks.namespace === "string" && ks.namespace) out.metadata.namespace = ks.namespace;
      return [newRes(out, file)];
    }
    default:
      throw new RenderError(`${obj.kind} is not supported: it runs the helm binary; render the chart with Mooring's helm renderer or commit its output`, { file });
  }
}

function runTransformerPlugin(ctx: Ctx, kust: Kust, cfg: PluginConfig, res: Res[]): Res[] {
  const { obj: c, file } = cfg;
  const keys = (extra: string[]): void => checkKeys(c, [...META_KEYS, ...extra], file, c.kind);
  // Where the transformer writes: its own fieldSpecs (the patch and replacement transformers have none).
  const fieldSpecs = (): FieldSpec[] => pluginSpecs(c.fieldSpecs, file, "fieldSpecs");
  switch (c.kind) {
    case "AnnotationsTransformer":
      keys(["annotations", "fieldSpecs"]);
      addAnnotations(res, stringMap(c.annotations, file, "annotations", true), fieldSpecs(), file);
      return res;
    case "LabelTransformer":
      keys(["labels", "fieldSpecs"]);
      addLabels(res, stringMap(c.labels, file, "labels", true), fieldSpecs(), file);
      return res;
    case "NamespaceTransformer": {
      keys(["fieldSpecs", "unsetOnly", "setRoleBindingSubjects"]);
      const mode = str(c.setRoleBindingSubjects, file, "setRoleBindingSubjects") || "defaultOnly";
      if (!["defaultOnly", "allServiceAccounts", "none"].includes(mode)) {
        throw new RenderError(`invalid value "${mode}" for setRoleBindingSubjects: must be one of "defaultOnly", "none" or "allServiceAccounts"`, { file });
      }
      const ns = typeof c.metadata.namespace === "string" ? c.metadata.namespace : "";
      setNamespace(res, { namespace: ns, specs: fieldSpecs(), unsetOnly: bool(c.unsetOnly, file, "unsetOnly"), subjects: mode as SubjectMode, scope: ctx.scope, file });
      return res;
    }
    case "PrefixTransformer":
    case "SuffixTransformer":
    case "PrefixSuffixTransformer": {
      keys(c.kind === "PrefixTransformer" ? ["prefix", "fieldSpecs"] : c.kind === "SuffixTransformer" ? ["suffix", "fieldSpecs"] : ["prefix", "suffix", "fieldSpecs"]);
      if (c.fieldSpecs === undefined || c.fieldSpecs === null) throw new RenderError(`${c.kind}: fieldSpecs is not expected to be nil`, { file });
      const specs = fieldSpecs();
      const prefix = c.kind === "SuffixTransformer" ? undefined : str(c.prefix, file, "prefix");
      const suffix = c.kind === "PrefixTransformer" ? undefined : str(c.suffix, file, "suffix");
      addPrefixSuffix(res, prefix, suffix, specs, file, ctx.scope);
      return res;
    }
    case "ImageTagTransformer": {
      keys(["imageTag", "fieldSpecs"]);
      const img = isMap(c.imageTag) ? c.imageTag : {};
      setImages(res, readImage(img, file), fieldSpecs(), file);
      return res;
    }
    case "ReplicaCountTransformer": {
      keys(["replica", "fieldSpecs"]);
      const rep = isMap(c.replica) ? c.replica : {};
      const count = rep.count ?? 0;
      if (typeof count !== "number" || !Number.isInteger(count)) throw new RenderError("ReplicaCountTransformer: replica.count must be an integer", { file });
      setReplicas(res, str(rep.name, file, "replica.name"), count, fieldSpecs(), file, ctx.scope);
      return res;
    }
    case "PatchTransformer": {
      keys(["path", "patch", "target", "options"]);
      const { text, where } = patchSource(ctx, kust, c, "PatchTransformer");
      return applyPatch(res, text, where, readTarget(c.target, file, "PatchTransformer"), readPatchOptions(c.options, file), env(ctx));
    }
    case "PatchStrategicMergeTransformer": {
      keys(["paths", "patches"]);
      const patches = stringList(c.paths, file, "paths").map((s) => (looksInline(s) ? { text: s, where: file } : readFileUnder(ctx.root, kust, s, "PatchStrategicMergeTransformer path")));
      if (typeof c.patches === "string" && c.patches.trim()) patches.push({ text: c.patches, where: file });
      if (patches.length === 0) throw new RenderError("PatchStrategicMergeTransformer: empty file path and empty patch content", { file });
      return applyStrategicMergePatches(res, patches, env(ctx));
    }
    case "PatchJson6902Transformer": {
      keys(["target", "path", "jsonOp"]);
      const target = readTarget(c.target, file, "PatchJson6902Transformer");
      if (!target) throw new RenderError("PatchJson6902Transformer: must specify a target", { file });
      const hasPath = typeof c.path === "string" && c.path;
      const hasOp = typeof c.jsonOp === "string" && c.jsonOp;
      if (hasPath && hasOp) throw new RenderError("PatchJson6902Transformer: must specify a file path or jsonOp, not both", { file });
      if (!hasPath && !hasOp) throw new RenderError("PatchJson6902Transformer: empty file path and empty jsonOp", { file });
      const { text, where } = hasPath ? readFileUnder(ctx.root, kust, c.path as string, "PatchJson6902Transformer path") : { text: c.jsonOp as string, where: file };
      return applyJson6902Patch(res, text, where, target, env(ctx));
    }
    case "ReplacementTransformer": {
      keys(["replacements"]);
      for (const r of expandReplacements(ctx, kust, mapList(c.replacements, file, "replacements"))) applyReplacement(res, r.rep, r.where, ctx.scope);
      return res;
    }
    case "ValueAddTransformer": {
      keys(["value", "targets", "targetFilePath"]);
      let value = str(c.value, file, "value").trim();
      if (!value) value = path.posix.basename(kust.dir || ".") === "." ? path.basename(ctx.root.dir) : path.posix.basename(kust.dir);
      const targets = mapList(c.targets, file, "targets");
      if (typeof c.targetFilePath === "string" && c.targetFilePath) {
        const { text, where } = readFileUnder(ctx.root, kust, c.targetFilePath, "ValueAddTransformer targetFilePath");
        const doc = parseManifestDocs(text, where, ctx.root.limits)[0]?.value;
        targets.push(...mapList(isMap(doc) ? doc.targets : undefined, where, "targets"));
      }
      if (targets.length === 0) throw new RenderError("ValueAddTransformer: must specify at least one target", { file });
      for (const t of targets) {
        checkKeys(t, ["selector", "fieldPath", "filePathPosition"], file, "ValueAddTransformer target");
        const fieldPath = str(t.fieldPath, file, "fieldPath");
        if (!fieldPath) throw new RenderError("ValueAddTransformer: fieldPath cannot be empty", { file });
        const pos = t.filePathPosition ?? 0;
        if (typeof pos !== "number" || pos < 0) throw new RenderError(`ValueAddTransformer: value of FilePathPosition (${String(pos)}) cannot be negative`, { file });
        const selected = isMap(t.selector) ? selectRes(res, t.selector, ctx.scope, file) : res;
        for (const r of selected) {
          if (fieldPath === "metadata/namespace") namespaceOne(r, { namespace: value, specs: [], scope: ctx.scope, file });
          else valueAdd(r, value, fieldPath, pos, file);
        }
      }
      return res;
    }
    case "HashTransformer":
      keys([]);
      for (const r of res) {
        if (!r.needsHash) continue;
        const h = kustomizeHash(r.obj);
        storePreviousId(r, ctx.scope);
        r.obj.metadata.name = `${r.obj.metadata.name}-${h}`;
      }
      return res;
    default:
      throw new RenderError(`${c.kind} cannot be used as a transformer`, { file });
  }
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
  const pe: PatchEnv = { scope: opts.scope, limits: root.limits, lenientTargets: true };
  let res = objects.map((o) => newRes(clone(o), source));
  (ov.patches ?? []).forEach((p, i) => {
    const text = typeof p.patch === "string" ? p.patch : JSON.stringify(p.patch);
    res = applyPatch(res, text, `${source}.patches[${i}]`, p.target, {}, pe);
  });
  const config = makeDefaultConfig();
  if (ov.namePrefix) addPrefixSuffix(res, ov.namePrefix, undefined, config.namePrefix, source, opts.scope);
  if (ov.nameSuffix) addPrefixSuffix(res, undefined, ov.nameSuffix, config.nameSuffix, source, opts.scope);
  for (const img of ov.images ?? []) setImages(res, { ...img }, config.images, source);
  fixNameReferences(res, config.nameReference, source, opts.scope);
  return res.map((r) => r.obj);
}

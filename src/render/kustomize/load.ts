// Reading a kustomization file: found under one of its three names, checked field by field (unknown fields and those
// that would run helm refused, kind and apiVersion), and its `openapi` schema put in force; remote bases refused.
import { RenderError } from "../errors.js";
import type { ArtifactRoot } from "../fs.js";
import { isMap } from "../objects.js";
import { readFileUnder, type Ctx, type Kust } from "./context.js";
import { parseManifestDocs } from "./fastyaml.js";
import { loadCustomSchema } from "./openapi.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export function findKustomization(root: ArtifactRoot, dir: string): string | undefined {
  const found = KUSTOMIZATION_FILES.map((f) => (dir ? `${dir}/${f}` : f)).filter((f) => root.isFile(f));
  if (found.length > 1) throw new RenderError(`found more than one kustomization file (${found.join(", ")}); keep one`, { file: dir || "." });
  return found[0];
}

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

export function loadKustomization(ctx: Ctx, dir: string): Kust {
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

export function setSchema(ctx: Ctx, kust: Kust, reset: boolean): void {
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

/** Refuses `rel` (a resource, base or component) when it names a remote base. */
export function refuseRemote(rel: string, file: string): void {
  if (!REMOTE.test(rel)) return;
  throw new RenderError(
    `remote base ${JSON.stringify(rel)} is not supported: Mooring renders only what is in the source artifact; vendor the base into the repository or add it as its own source`,
    { file },
  );
}

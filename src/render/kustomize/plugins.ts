// Builtin plugin configurations (the `generators`, `transformers` and `validators` lists): which kinds Mooring runs
// and where each may be listed, the generator plugins, and the validators (a transformer that must change nothing).
import { RenderError } from "../errors.js";
import { clone, isMap, type JsonMap, type KubeObject } from "../objects.js";
import type { Ctx, Kust, PluginConfig } from "./context.js";
import { checkKeys } from "./fields.js";
import { generate, readGenArgs } from "./generators.js";
import { META_KEYS, runTransformerPlugin } from "./plugin-transformers.js";
import { cloneRes, newRes, type Res } from "./resource.js";

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

/** The resource `r` read from a `field` list as a plugin configuration: a builtin kind that may be listed there. */
export function pluginConfig(r: Res, field: "generators" | "transformers" | "validators", kust: Kust): PluginConfig {
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
}

export function runGeneratorPlugin(ctx: Ctx, kust: Kust, cfg: PluginConfig): Res[] {
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
    case "IAMPolicyGenerator":
      return [newRes(iamServiceAccount(obj, file), file)];
    default:
      throw new RenderError(`${obj.kind} is not supported: it runs the helm binary; render the chart with Mooring's helm renderer or commit its output`, { file });
  }
}

/** IAMPolicyGenerator (GKE only): a ServiceAccount annotated with the Google service account it acts as. */
function iamServiceAccount(obj: KubeObject, file: string): KubeObject {
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
  return out;
}

/**
 * Runs each validator on a copy of `res` and refuses one that changes anything but its validated-by label. Kustomize
 * runs validators on the resources themselves (kusttarget.go runValidators), so the validated-by label a passing one
 * adds stays in the output: it is copied onto the resources, which keep their identity (their shared values).
 */
export function runValidators(ctx: Ctx, kust: Kust, configs: PluginConfig[], res: Res[]): void {
  for (const cfg of configs) {
    const before = res.map((r) => JSON.stringify(r.obj));
    const validated = runTransformerPlugin(ctx, kust, cfg, res.map(cloneRes));
    const after = validated.map((r) => {
      const o = clone(r.obj);
      if (o.metadata.labels) delete o.metadata.labels["validated-by"];
      if (o.metadata.labels && Object.keys(o.metadata.labels).length === 0) delete o.metadata.labels;
      return JSON.stringify(o);
    });
    if (before.length !== after.length || before.some((b, i) => b !== after[i])) {
      throw new RenderError(`validator ${cfg.obj.kind} ${cfg.obj.metadata.name} shouldn't modify the resource map`, { file: cfg.file });
    }
    validated.forEach((v, i) => {
      const label = v.obj.metadata.labels?.["validated-by"];
      if (label !== undefined) (res[i]!.obj.metadata.labels ??= {})["validated-by"] = label;
    });
  }
}

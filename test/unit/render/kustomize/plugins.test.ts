// Builtin plugin configurations (src/render/kustomize/plugins.ts): only `apiVersion: builtin` kinds are taken, each
// only in its own list (a generator under `generators`, a transformer elsewhere); the generator plugins make what
// kubectl kustomize v5.5 makes from the same configuration; validators run as Kustomize runs them: on the resources
// themselves, refused when they change anything but the `validated-by` label (which stays, as in Kustomize).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { Ctx, Kust, PluginConfig } from "../../../../src/render/kustomize/context.js";
import { pluginConfig, runGeneratorPlugin, runValidators } from "../../../../src/render/kustomize/plugins.js";
import { newRes } from "../../../../src/render/kustomize/resource.js";
import type { KubeObject } from "../../../../src/render/objects.js";
import { writeTree } from "../tree.js";

const tree = writeTree({ "app/kustomization.yaml": "", "app/a.txt": "from a file\n" });
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const ctx: Ctx = { root, stack: [], schemaSet: false, origins: false, warn: () => {} };
const K: Kust = { dir: "app", file: "app/kustomization.yaml", k: {} };
const P = "app/plugin.yaml";

const cfgObj = (kind: string, name: string, body: Record<string, unknown> = {}, apiVersion = "builtin"): KubeObject => ({ apiVersion, kind, metadata: { name }, ...body });
const cfg = (obj: KubeObject): PluginConfig => ({ obj, file: P, kust: K });
const cm = (name: string, labels?: Record<string, string>) => newRes({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(labels ? { labels } : {}) } }, "app/cm.yaml");
const labelValidator = (labels: Record<string, string>, create = true) =>
  cfg(cfgObj("LabelTransformer", "v", { labels, fieldSpecs: [{ path: "metadata/labels", create }] }));

void describe("kustomize builtin plugins", () => {
  void it("take a builtin configuration in its own list, with where it came from", () => {
    const gen = newRes(cfgObj("ConfigMapGenerator", "g"), P, 3);
    gen.origin = { path: "plugin.yaml" };
    assert.deepEqual(pluginConfig(gen, "generators", K), { obj: gen.obj, file: P, kust: K, origin: { path: "plugin.yaml" } });
    for (const field of ["transformers", "validators"] as const) assert.equal(pluginConfig(newRes(cfgObj("LabelTransformer", "t"), P), field, K).obj.kind, "LabelTransformer");
  });

  void it("refuse a plugin that is not builtin (Mooring runs no exec, Go or KRM plugins) and an unknown builtin kind", () => {
    assert.throws(() => pluginConfig(newRes(cfgObj("MyGenerator", "x", {}, "example.com/v1"), P), "generators", K), {
      message: /^app\/plugin\.yaml: generators: example\.com\/v1\/MyGenerator x is not a builtin plugin configuration; Mooring runs no exec, Go or KRM function plugins \(builtin kinds: ConfigMapGenerator, /,
    });
    assert.throws(() => pluginConfig(newRes(cfgObj("FooTransformer", "x"), P), "transformers", K), { message: /transformers: builtin\/FooTransformer x is not a builtin plugin configuration/ });
  });

  void it("refuse a transformer listed as a generator and a generator listed as a transformer or validator", () => {
    assert.throws(() => pluginConfig(newRes(cfgObj("LabelTransformer", "v"), P), "generators", K), { message: `${P}: generators: builtin LabelTransformer is a transformer, not a generator` });
    assert.throws(() => pluginConfig(newRes(cfgObj("ConfigMapGenerator", "g"), P), "transformers", K), { message: `${P}: transformers: builtin ConfigMapGenerator is a generator; list it under "generators"` });
    assert.throws(() => pluginConfig(newRes(cfgObj("SecretGenerator", "s"), P), "validators", K), { message: `${P}: validators: builtin SecretGenerator is a generator; list it under "generators"` });
  });

  void it("generate a ConfigMap named and placed by the configuration's metadata, files read from the kustomization", () => {
    const obj = cfgObj("ConfigMapGenerator", "plug", { literals: ["a=1"], files: ["a.txt"] });
    obj.metadata.namespace = "ns";
    const [r, ...rest] = runGeneratorPlugin(ctx, K, cfg(obj));
    assert.equal(rest.length, 0);
    assert.deepEqual(r!.obj, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plug", namespace: "ns" }, data: { a: "1", "a.txt": "from a file\n" } });
    assert.deepEqual([r!.needsHash, r!.behavior, r!.file], [true, "create", "app/kustomization.yaml"]);
  });

  void it("generate a Secret whose own name and type win over its metadata, options honoured", () => {
    const obj = cfgObj("SecretGenerator", "meta-name", { name: "own-name", type: "kubernetes.io/tls", literals: ["b=2"], options: { disableNameSuffixHash: true } });
    const [r] = runGeneratorPlugin(ctx, K, cfg(obj));
    assert.deepEqual(r!.obj, { apiVersion: "v1", kind: "Secret", metadata: { name: "own-name" }, data: { b: "Mg==" }, type: "kubernetes.io/tls" });
    assert.equal(r!.needsHash, false);
  });

  void it("refuse a generator plugin's unknown fields, naming the plugin's kind", () => {
    assert.throws(() => runGeneratorPlugin(ctx, K, cfg(cfgObj("ConfigMapGenerator", "g", { literal: ["a=1"] }))), { message: /^app\/plugin\.yaml: ConfigMapGenerator: unknown field "literal"/ });
    assert.throws(() => runGeneratorPlugin(ctx, K, cfg(cfgObj("ConfigMapGenerator", "g", { type: "x" }))), { message: /ConfigMapGenerator: unknown field "type"/ });
  });

  void it("generate IAMPolicyGenerator's annotated ServiceAccount for GKE, in the service's namespace if it has one", () => {
    const body = { cloud: "gke", kubernetesService: { name: "ksa", namespace: "apps" }, serviceAccount: { name: "gsa", projectId: "proj" } };
    const [r] = runGeneratorPlugin(ctx, K, cfg(cfgObj("IAMPolicyGenerator", "iam", body)));
    assert.deepEqual(r!.obj, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { annotations: { "iam.gke.io/gcp-service-account": "gsa@proj.iam.gserviceaccount.com" }, name: "ksa", namespace: "apps" },
    });
    const [noNs] = runGeneratorPlugin(ctx, K, cfg(cfgObj("IAMPolicyGenerator", "iam", { ...body, kubernetesService: { name: "ksa" } })));
    assert.equal(noNs!.obj.metadata.namespace, undefined);
    assert.equal(noNs!.needsHash, false, "not a generated ConfigMap or Secret: no hash");
  });

  void it("refuse IAMPolicyGenerator for another cloud, its unknown fields, and HelmChartInflationGenerator", () => {
    assert.throws(() => runGeneratorPlugin(ctx, K, cfg(cfgObj("IAMPolicyGenerator", "iam", { cloud: "aws" }))), { message: `${P}: IAMPolicyGenerator: cloud provider aws not supported yet` });
    assert.throws(() => runGeneratorPlugin(ctx, K, cfg(cfgObj("IAMPolicyGenerator", "iam", { cloud: "gke", region: "x" }))), { message: /^app\/plugin\.yaml: IAMPolicyGenerator: unknown field "region"/ });
    assert.throws(() => runGeneratorPlugin(ctx, K, cfg(cfgObj("HelmChartInflationGenerator", "h", { chartName: "x" }))), {
      message: `${P}: HelmChartInflationGenerator is not supported: it runs the helm binary; render the chart with Mooring's helm renderer or commit its output`,
    });
  });

  void it("pass a validator that changes nothing, and keep the validated-by label it adds (Kustomize runs validators in place)", () => {
    const res = [cm("a"), cm("b", { app: "web" })];
    runValidators(ctx, K, [labelValidator({ app: "web" }, false)], [res[1]!]);
    assert.deepEqual(res[1]!.obj.metadata.labels, { app: "web" });
    const one = [cm("a")];
    const obj = one[0]!.obj;
    runValidators(ctx, K, [labelValidator({ "validated-by": "me" })], one);
    assert.deepEqual(obj.metadata.labels, { "validated-by": "me" }, "kubectl kustomize prints the label");
    assert.equal(one[0]!.obj, obj, "the resources keep their identity");
    assert.doesNotThrow(() => runValidators(ctx, K, [], res));
  });

  void it("refuse a validator that changes anything else, also a second validated-by over one already there", () => {
    const res = [cm("a", { app: "web" })];
    assert.throws(() => runValidators(ctx, K, [labelValidator({ team: "x" })], res), { message: `${P}: validator LabelTransformer v shouldn't modify the resource map` });
    assert.deepEqual(res[0]!.obj.metadata.labels, { app: "web" }, "a refused validator leaves the resources as they were");
    const labelled = [cm("a", { "validated-by": "first" })];
    assert.throws(() => runValidators(ctx, K, [labelValidator({ "validated-by": "second" })], labelled), { message: /shouldn't modify the resource map/ });
    assert.throws(() => runValidators(ctx, K, [cfg(cfgObj("ConfigMapGenerator", "g"))], res), { message: `${P}: ConfigMapGenerator cannot be used as a transformer` });
  });
});

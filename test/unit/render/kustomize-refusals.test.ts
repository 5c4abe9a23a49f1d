// What the kustomize renderer refuses, and the inputs `kubectl kustomize` refuses too: every refusal is a RenderError
// naming the field (or the offending value) and the file; nothing is silently dropped. Where kubectl also fails on
// the input, the test checks that (kubectl on PATH, as for the oracle test).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ArtifactRoot } from "../../../src/render/fs.js";
import { resolveLimits } from "../../../src/render/limits.js";
import { renderKustomize } from "../../../src/render/kustomize/index.js";
import { render } from "../../../src/render/index.js";
import { isRenderError } from "../../../src/render/errors.js";
import { parseYamlDocs } from "../../../src/render/yaml.js";

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-kustomize-refusals-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function tree(files: Record<string, string>): string {
  const dir = path.join(tmp, `case-${n++}`);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

function refuses(dir: string, message: RegExp, file?: string): void {
  assert.throws(
    () => renderKustomize(new ArtifactRoot(dir, resolveLimits()), ""),
    (err: unknown) => {
      assert.ok(isRenderError(err), `not a RenderError: ${String(err)}`);
      assert.match(err.message, message);
      if (file !== undefined) assert.equal(err.file, file);
      return true;
    },
  );
}

async function kubectlFails(dir: string): Promise<void> {
  await assert.rejects(run("kubectl", ["kustomize", dir], { encoding: "utf8" }), "kubectl kustomize accepted the input");
}

const CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

void describe("kustomize renderer refusals", () => {
  for (const field of ["helmCharts", "helmGlobals", "helmChartInflationGenerator"]) {
    void it(`refuses ${field}, naming the field and the file`, () => {
      const dir = tree({ "kustomization.yaml": `resources: [cm.yaml]\n${field}: []\n`, "cm.yaml": CM });
      refuses(dir, new RegExp(`kustomization field "${field}" is not supported`), "kustomization.yaml");
    });
  }

  void it("refuses an unknown field, naming it and the file (kubectl refuses it too)", async () => {
    const dir = tree({ "base/kustomization.yaml": "resources: [cm.yaml]\ninventory: {}\n", "base/cm.yaml": CM, "kustomization.yaml": "resources: [base]\n" });
    refuses(dir, /unknown kustomization field "inventory"/, "base/kustomization.yaml");
    await kubectlFails(dir);
  });

  void it("refuses plugins that are not builtin (exec, Go and KRM function plugins are never run)", () => {
    const dir = tree({
      "kustomization.yaml": "resources: [cm.yaml]\ntransformers: [plugin.yaml]\n",
      "cm.yaml": CM,
      "plugin.yaml": "apiVersion: someteam.example.com/v1\nkind: ChartInflator\nmetadata:\n  name: x\n",
    });
    refuses(dir, /someteam\.example\.com\/v1\/ChartInflator x is not a builtin plugin configuration/, "plugin.yaml");
  });

  void it("refuses an unknown field in a builtin plugin configuration", () => {
    const dir = tree({
      "kustomization.yaml": "resources: [cm.yaml]\ntransformers: [labels.yaml]\n",
      "cm.yaml": CM,
      "labels.yaml": "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels: {a: b}\nfieldSpec: []\n",
    });
    refuses(dir, /LabelTransformer: unknown field "fieldSpec"/, "labels.yaml");
  });

  void it("refuses helm through a plugin configuration too", () => {
    const dir = tree({
      "kustomization.yaml": "generators: [helm.yaml]\n",
      "helm.yaml": "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: h\nname: chart\n",
    });
    refuses(dir, /HelmChartInflationGenerator is not supported: it runs the helm binary/, "helm.yaml");
  });

  void it("fails when a validator would change the resources (kubectl fails too)", async () => {
    const dir = tree({
      "kustomization.yaml":
        "resources: [cm.yaml]\nvalidators:\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata:\n    name: v\n  labels: {team: a}\n  fieldSpecs:\n  - path: metadata/labels\n    create: true\n",
      "cm.yaml": CM,
    });
    refuses(dir, /validator LabelTransformer v shouldn't modify the resource map/);
    await kubectlFails(dir);
  });

  void it("refuses an openapi version Kustomize does not have built in, and buildMetadata options it does not know", () => {
    refuses(tree({ "kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  version: v1.99.0\n", "cm.yaml": CM }), /not built in/, "kustomization.yaml");
    refuses(tree({ "kustomization.yaml": "resources: [cm.yaml]\nbuildMetadata: [everything]\n", "cm.yaml": CM }), /buildMetadata: unknown option "everything"/, "kustomization.yaml");
  });

  void it("refuses a var declared twice and a var matching two resources (kubectl too)", async () => {
    const twice = tree({
      "kustomization.yaml": "resources: [cm.yaml]\nvars:\n- name: A\n  objref: {kind: ConfigMap, name: cm, apiVersion: v1}\n- name: A\n  objref: {kind: ConfigMap, name: cm, apiVersion: v1}\n",
      "cm.yaml": CM,
    });
    refuses(twice, /var 'A' already encountered/);
    await kubectlFails(twice);
    const ambiguous = tree({
      "kustomization.yaml": "resources: [cm.yaml]\nvars:\n- name: A\n  objref: {kind: ConfigMap, name: cm, apiVersion: v1}\n",
      "cm.yaml": `${CM}  namespace: a\n---\n${CM}  namespace: b\n`,
    });
    refuses(ambiguous, /found 2 resId matches for var A/);
    await kubectlFails(ambiguous);
  });

  void it("refuses a replicas entry that names nothing scalable and a merge generator with nothing to merge (kubectl too)", async () => {
    const replicas = tree({ "kustomization.yaml": "resources: [cm.yaml]\nreplicas:\n- name: cm\n  count: 2\n", "cm.yaml": CM });
    refuses(replicas, /replicas: resource with name cm does not match/);
    await kubectlFails(replicas);
    const merge = tree({ "kustomization.yaml": "configMapGenerator:\n- name: missing\n  behavior: merge\n  literals: [a=b]\n" });
    refuses(merge, /has behavior merge, but there is no ConfigMap/);
    await kubectlFails(merge);
  });

  void it("reads YAML as go-yaml does: duplicate keys and tab indentation are errors (kubectl too)", async () => {
    const dup = tree({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": `${CM}  name: again\n` });
    refuses(dup, /invalid YAML: Map keys must be unique/);
    await kubectlFails(dup);
    const tabs = tree({ "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": `${CM}data:\n\tx: y\n` });
    refuses(tabs, /invalid YAML/);
    await kubectlFails(tabs);
  });

  void it("reads kustomization files as YAML 1.1: `on` is a boolean there, so a label value `on` is refused (kubectl too)", async () => {
    const dir = tree({ "kustomization.yaml": "resources: [cm.yaml]\ncommonLabels:\n  enabled: on\n", "cm.yaml": CM });
    refuses(dir, /"commonLabels\.enabled" must be a string/);
    await kubectlFails(dir);
  });

  void it("keeps a block scalar's final newline only when the text has one", () => {
    const limits = resolveLimits();
    const value = (text: string): unknown => (parseYamlDocs(text, "f.yaml", limits)[0]!.value as { x: unknown }).x;
    assert.equal(value("x: |\n  a\n  b"), "a\nb");
    assert.equal(value("x: |\n  a\n  b\n"), "a\nb\n");
    assert.equal(value("x: |+\n  a\n  b"), "a\nb");
    assert.equal(value("x: |+\n  a\n\n  "), "a\n\n");
    assert.equal(value("x: >\n  a\n  b"), "a b");
    assert.equal(value("x: |-\n  a\n  b"), "a\nb");
    assert.equal(value("x: |\n  a\n  b   "), "a\nb   ");
    assert.equal(value("x: |\n  a\n  b\n  "), "a\nb\n");
  });

  void it("reports unused vars through the warn callback, as kubectl logs them", () => {
    const dir = tree({ "kustomization.yaml": "resources: [cm.yaml]\nvars:\n- name: UNUSED\n  objref: {kind: ConfigMap, name: cm, apiVersion: v1}\n", "cm.yaml": CM });
    const warnings: string[] = [];
    renderKustomize(new ArtifactRoot(dir, resolveLimits()), "", { warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, ["well-defined vars that were never replaced: UNUSED"]);
  });

  void it("refuses a malformed name-reference field even when nothing is renamed, naming the object and its file (kubectl too)", async () => {
    const pod = (volume: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: c, image: nginx}]\n  volumes:\n  - ${volume}\n`;
    const cases: [string, string, RegExp][] = [
      ["apps/pod.yaml", pod("{name: v, configMap: [[cm]]}"), /expected sequence or mapping node at spec\/volumes\/configMap/],
      ["apps/pod.yaml", pod("{name: v, configMap: cm}"), /expected sequence or mapping node at spec\/volumes\/configMap/],
      ["apps/pod.yaml", pod("{name: v, configMap: {name: {a: 1}}}"), /a map without a 'name' field/],
      ["apps/pod.yaml", pod("{name: v, configMap: {name: [x, [y]]}}"), /a list item is neither a string nor a map/],
      [
        "apps/rb.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, namespace: default}]\n",
        /RoleBinding rb: the ServiceAccount name reference at subjects is malformed \(a map without a 'name' field\)/,
      ],
    ];
    for (const [file, text, message] of cases) {
      const dir = tree({ "kustomization.yaml": "resources: [apps]\n", "apps/kustomization.yaml": `resources: [${path.basename(file)}]\n`, [file]: text });
      refuses(dir, message, file);
      refuses(dir, /kubectl kustomize refuses it too, even when no name changes; write the field as Kubernetes defines it/);
      await kubectlFails(dir);
    }
    // What Kustomize's traversal accepts is built, by both: a list of names, a map without name, a list of maps.
    for (const volume of ["{name: v, configMap: {name: [cm]}}", "{name: v, configMap: {noname: x}}", "{name: v, configMap: [{name: a}]}", "{name: v, configMap: {name: 1}}"]) {
      const dir = tree({ "kustomization.yaml": "resources: [pod.yaml]\n", "pod.yaml": pod(volume) });
      assert.equal(renderKustomize(new ArtifactRoot(dir, resolveLimits()), "").length, 1);
      await run("kubectl", ["kustomize", dir], { encoding: "utf8" });
    }
  });

  void it("keeps an object without apiVersion through every post-render step, as kubectl kustomize prints it", () => {
    const coffee = "kind: Coffee\nmetadata:\n  name: cup\ntemperature: hot\n";
    const dir = tree({ "kustomization.yaml": "resources: [coffee.yaml, cm.yaml]\n", "coffee.yaml": coffee, "cm.yaml": CM });
    const out = render(dir, "", {
      type: "kustomize",
      targetNamespace: "shop",
      application: { namespace: "apps", name: "breakfast" },
      overrides: { namePrefix: "x-", patches: [{ patch: "kind: Coffee\nmetadata:\n  name: cup\nsugar: 2\n" }] },
      substitute: {},
    });
    const cup = out.objects.find((o) => o.kind === "Coffee");
    assert.ok(cup, "the Coffee object is in the output");
    assert.equal("apiVersion" in cup, false);
    assert.equal(cup.metadata.name, "x-cup");
    assert.equal(cup.metadata.namespace, "shop");
    assert.equal(cup.metadata.labels?.["app.kubernetes.io/managed-by"], "mooring");
    assert.equal(cup.sugar, 2);
    // The same object as a plain manifest has no tool behind it that prints it: refused, with its file.
    assert.throws(() => render(dir, "coffee.yaml", { type: "plain" }), (err: unknown) => isRenderError(err) && err.file === "coffee.yaml" && /object Coffee cup has no apiVersion/.test(err.message));
  });

  void it("refuses an apiVersion that is not a string, though kubectl kustomize passes it through", async () => {
    const dir = tree({ "kustomization.yaml": "resources: [coffee.yaml]\n", "coffee.yaml": "apiVersion: 1\nkind: Coffee\nmetadata:\n  name: cup\n" });
    refuses(dir, /apiVersion must be a string, not 1/, "coffee.yaml");
    const { stdout } = await run("kubectl", ["kustomize", dir], { encoding: "utf8" });
    assert.match(stdout, /^apiVersion: 1$/m);
  });
});

// Go-template (Helm v3) charts against the oracle: every case renders test/fixtures/render/helm-go/ with Mooring
// (render(), the function the controller and `mooring render` call) and with the pinned `helm template`
// (~/.cache/mooring/bin/helm, built by `make tools`), and requires the same objects in the same order. helm's YAML
// is read with Mooring's own YAML reader (go-yaml's rules), an implementation independent of the JSON the renderer
// gets from mooring-helm (sigs.k8s.io/yaml).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { render, renderIsolated } from "../../../src/render/index.js";
import { DEFAULT_LIMITS } from "../../../src/render/limits.js";
import { parseYamlDocs } from "../../../src/render/yaml.js";
import { DEFAULT_KUBE_VERSION } from "../../../src/render/helm/go.js";
import { PINNED_HELM_VERSION } from "../../../src/render/helm/binary.js";
import { helmOk } from "../../support/helm.js";
import { REPO_ROOT } from "../../support/cluster.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/render/helm-go");
const SHOP = path.join(FIXTURES, "shop");

/** `helm template` of a fixture chart, as objects (test hooks left out, as Mooring never applies them). */
function oracle(chart: string, args: string[]): unknown[] {
  const text = helmOk(["template", ...args.slice(0, 1), chart, "--skip-tests", ...args.slice(1)]);
  return parseYamlDocs(text, "helm template", DEFAULT_LIMITS)
    .map((d) => d.value)
    .filter((v) => v !== null && v !== undefined);
}

interface Case {
  name: string;
  /** Mooring's helm options. */
  helm: Record<string, unknown>;
  /** The same for helm: release first, then flags. */
  helmArgs: string[];
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "mooring-helm-oracle-"));
const json = (name: string, v: unknown): string => {
  const p = path.join(tmp, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
};
const fromCm = { replicaCount: 2, config: { greeting: "from a ConfigMap in {{ .Release.Namespace }}" }, global: { environment: "staging" } };
const inline = { image: { tag: "9.9.9" }, ingress: { enabled: true }, db: { storage: "20Gi" } };

const CASES: Case[] = [
  { name: "defaults", helm: { releaseName: "rel", namespace: "apps" }, helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds"] },
  {
    name: "values-prod.yaml (a valuesFiles entry, read verbatim)",
    helm: { releaseName: "rel", namespace: "apps", valuesFiles: ["values-prod.yaml"] },
    helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds", "-f", path.join(SHOP, "values-prod.yaml")],
  },
  {
    name: "values-minimal.yaml: db off by condition, no hooks, tags off",
    helm: { releaseName: "rel", namespace: "apps", valuesFiles: ["values-minimal.yaml"] },
    helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds", "-f", path.join(SHOP, "values-minimal.yaml")],
  },
  {
    name: "valuesFiles, valuesFrom and inline values merged in order; another release and namespace",
    helm: { releaseName: "shop-prod", namespace: "store", valuesFiles: ["values-prod.yaml"], valuesFrom: [fromCm], values: inline },
    helmArgs: ["shop-prod", "-n", "store", "--kube-version", "1.36.3", "--include-crds", "-f", path.join(SHOP, "values-prod.yaml"), "-f", json("from-cm.json", fromCm), "-f", json("inline.json", inline)],
  },
  {
    name: "the cluster's capabilities: another Kubernetes version, an extra API version (a ServiceMonitor appears)",
    helm: { releaseName: "rel", namespace: "apps", kubeVersion: "v1.30.4", apiVersions: ["monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"] },
    helmArgs: ["rel", "-n", "apps", "--kube-version", "v1.30.4", "--include-crds", "--api-versions", "monitoring.coreos.com/v1", "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"],
  },
  { name: "an upgrade render (.Release.IsUpgrade)", helm: { releaseName: "rel", namespace: "apps", isUpgrade: true }, helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds", "--is-upgrade"] },
  { name: "skipCrds leaves crds/ out", helm: { releaseName: "rel", namespace: "apps", skipCrds: true }, helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3"] },
  {
    name: "without mooring-helm (helm's YAML parsed in Node)",
    helm: { releaseName: "rel", namespace: "apps", valuesFiles: ["values-prod.yaml"], driver: false },
    helmArgs: ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds", "-f", path.join(SHOP, "values-prod.yaml")],
  },
];

void describe("Go-template charts: Mooring's render equals helm template's", () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const c of CASES) {
    void it(c.name, () => {
      const got = render(FIXTURES, "shop", { type: "helm", helm: c.helm });
      const want = oracle(SHOP, c.helmArgs);
      assert.ok(want.length >= 8, `the oracle rendered ${want.length} objects`);
      assert.deepEqual(got.objects, want);
    });
  }

  void it("renders the same in the controller's worker thread (renderIsolated)", async () => {
    const got = await renderIsolated(FIXTURES, "shop", { type: "helm", helm: { releaseName: "rel", namespace: "apps", valuesFiles: ["values-prod.yaml"] } }, { timeoutMs: 60_000 });
    assert.deepEqual(got.objects, oracle(SHOP, ["rel", "-n", "apps", "--kube-version", "1.36.3", "--include-crds", "-f", path.join(SHOP, "values-prod.yaml")]));
    assert.equal(got.type, "helm");
  });

  void it("type auto picks the helm renderer and the Go engine for a chart with apiVersion and Go templates", () => {
    const got = render(FIXTURES, "shop", { helm: { releaseName: "rel", namespace: "apps" } });
    assert.equal(got.type, "helm");
    assert.ok(got.objects.some((o) => o.kind === "Widget"));
  });

  void it("the release name defaults to the chart's name, the namespace to default", () => {
    const got = render(FIXTURES, "shop", { type: "helm" });
    assert.deepEqual(got.objects, oracle(SHOP, ["shop", "-n", "default", "--kube-version", "1.36.3", "--include-crds"]));
  });

  void it("pins the versions of hack/versions.env: Helm, and Kubernetes as the default .Capabilities.KubeVersion", () => {
    const env = Object.fromEntries(
      readFileSync(path.join(REPO_ROOT, "hack/versions.env"), "utf8")
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => l.split("=") as [string, string]),
    );
    assert.equal(PINNED_HELM_VERSION, env.HELM_VERSION);
    assert.equal(DEFAULT_KUBE_VERSION, env.KUBERNETES_VERSION);
  });
});

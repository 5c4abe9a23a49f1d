import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { render, serialize, artifactBytes, cacheKey, RenderError, APPLICATION_LABEL, MANAGED_BY_LABEL, DEFAULT_LIMITS } from "../../../src/render/index.js";
import { writeTree } from "./tree.js";
import { parseRendered, sha256Digest } from "../../../src/apply/artifact.js";

const files = {
  "app.yaml": [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: web",
    "  namespace: original",
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    "      - name: web",
    "        image: nginx:1.25",
    "        env:",
    "        - name: CLUSTER",
    "          value: ${cluster_name}",
    "        - name: REGION",
    "          value: ${region:=eu-west-1}",
    "        - name: LITERAL",
    "          value: $${not_a_var}",
    "        envFrom:",
    "        - configMapRef:",
    "            name: settings",
    "---",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: settings",
    "  namespace: original",
    "---",
    "apiVersion: rbac.authorization.k8s.io/v1",
    "kind: ClusterRole",
    "metadata:",
    "  name: reader",
    "---",
    "apiVersion: example.com/v1",
    "kind: ClusterWidget",
    "metadata:",
    "  name: cw",
    "---",
    "apiVersion: example.com/v1",
    "kind: Widget",
    "metadata:",
    "  name: w",
  ].join("\n"),
};

void describe("post-render steps", () => {
  const t = writeTree(files);
  after(() => t.cleanup());
  const scope = (group: string, kind: string): boolean | undefined => (group === "example.com" ? kind.startsWith("Cluster") : undefined);

  void it("targetNamespace fills namespaced objects that set none (built-in list plus the caller's resolver)", () => {
    const out = render(t.dir, "", { targetNamespace: "team", scope, substitute: { cluster_name: "c1" } });
    const ns = Object.fromEntries(out.objects.map((o) => [o.metadata.name, o.metadata.namespace]));
    assert.deepEqual(ns, { web: "original", settings: "original", reader: undefined, cw: undefined, w: "team" });
  });

  void it("targetNamespace with namespaceMode override replaces every namespaced object's namespace", () => {
    const out = render(t.dir, "", { targetNamespace: "team", namespaceMode: "override", scope, substitute: { cluster_name: "c1" } });
    const ns = Object.fromEntries(out.objects.map((o) => [o.metadata.name, o.metadata.namespace]));
    assert.deepEqual(ns, { web: "team", settings: "team", reader: undefined, cw: undefined, w: "team" });
  });

  void it("targetNamespace knows the scope of kinds whose CRD is in the same output", () => {
    const t2 = writeTree({
      "crd.yaml":
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  names: {kind: Gadget, plural: gadgets}\n  versions: []\n",
      "g.yaml": "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    });
    try {
      const ns = Object.fromEntries(render(t2.dir, "", { targetNamespace: "team" }).objects.map((o) => [o.kind, o.metadata.namespace]));
      assert.deepEqual(ns, { CustomResourceDefinition: undefined, Gadget: undefined, Widget: "team" });
    } finally {
      t2.cleanup();
    }
  });

  void it("substitutes ${var} and ${var:=default}, keeps $${var} literal", () => {
    const out = render(t.dir, "", { substitute: { cluster_name: "c1" } });
    const env = (out.objects[0]!.spec as { template: { spec: { containers: { env: { value: string }[] }[] } } }).template.spec.containers[0]!.env;
    assert.deepEqual(
      env.map((e) => e.value),
      ["c1", "eu-west-1", "${not_a_var}"],
    );
    assert.equal(render(t.dir, "", { substitute: { cluster_name: "c1", region: "us" } }).objects[0]!.spec !== undefined, true);
    assert.throws(() => render(t.dir, "", { substitute: {} }), RenderError);
    // Without `substitute`, text is left alone.
    assert.match(JSON.stringify(render(t.dir, "").objects[0]), /\$\{cluster_name\}/);
  });

  void it("adds Mooring's labels to every object", () => {
    const out = render(t.dir, "", { application: { namespace: "apps", name: "web" } });
    for (const o of out.objects) {
      assert.equal(o.metadata.labels?.[MANAGED_BY_LABEL], "mooring");
      assert.equal(o.metadata.labels?.[APPLICATION_LABEL], "apps.web");
    }
  });

  void it("applies overrides (patches, prefix/suffix with references, images) on top of any renderer", () => {
    const out = render(t.dir, "", {
      overrides: {
        namePrefix: "p-",
        nameSuffix: "-s",
        images: [{ name: "nginx", newTag: "1.27" }],
        patches: [
          { patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n" },
          { patch: [{ op: "add", path: "/data", value: { k: "v" } }], target: { kind: "ConfigMap" } },
        ],
      },
    });
    const d = out.objects.find((o) => o.kind === "Deployment")!;
    assert.equal(d.metadata.name, "p-web-s");
    const spec = d.spec as { replicas: number; template: { spec: { containers: { image: string; envFrom: { configMapRef: { name: string } }[] }[] } } };
    assert.equal(spec.replicas, 3);
    assert.equal(spec.template.spec.containers[0]!.image, "nginx:1.27");
    assert.equal(spec.template.spec.containers[0]!.envFrom[0]!.configMapRef.name, "p-settings-s", "reference follows the rename");
    assert.deepEqual(out.objects.find((o) => o.kind === "ConfigMap")!.data, { k: "v" });
  });

  void it("refuses output over the object-count and object-size limits", () => {
    assert.throws(() => render(t.dir, "", { limits: { maxObjects: 2 } }), /5 objects, over the limit of 2/);
    assert.throws(() => render(t.dir, "", { limits: { maxObjectBytes: 100 } }), /over the 100-byte limit/);
  });

  void it("serialises canonically: sorted keys, same bytes every time, YAML and JSON round-trip to the same objects", () => {
    const a = render(t.dir, "", { substitute: { cluster_name: "c1" } });
    const b = render(t.dir, "", { substitute: { cluster_name: "c1" } });
    const yamlText = serialize(a.objects, "yaml");
    assert.equal(yamlText, serialize(b.objects, "yaml"));
    assert.equal(a.digest, b.digest);
    assert.match(yamlText, /^---\napiVersion: apps\/v1\nkind: Deployment\nmetadata:\n/);
    const fromYaml = parseAllDocuments(yamlText).map((d) => d.toJS() as unknown);
    assert.deepEqual(fromYaml, JSON.parse(serialize(a.objects, "json")));
    assert.notEqual(render(t.dir, "", { substitute: { cluster_name: "c2" } }).digest, a.digest);
  });

  void it("has the default limits docs/render.md documents", () => {
    assert.deepEqual(DEFAULT_LIMITS, {
      maxFileBytes: 10 * 1024 * 1024,
      maxTotalBytes: 100 * 1024 * 1024,
      maxAliasCount: 100,
      maxDepth: 100,
      maxObjects: 20_000,
      maxObjectBytes: 1_500_000,
      maxOutputBytes: 128 * 1024 * 1024,
    });
  });

  void it("cache keys ignore map key order but not values", () => {
    const a = cacheKey({ source: "sha256:1", path: "deploy", spec: { type: "helm", values: { a: 1, b: 2 } } });
    const b = cacheKey({ spec: { values: { b: 2, a: 1 }, type: "helm" }, path: "deploy", source: "sha256:1" });
    assert.equal(a, b);
    assert.match(a, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(cacheKey({ source: "sha256:1", path: "deploy", spec: { type: "helm", values: { a: 1, b: 3 } } }), a);
  });

  void it("the artifact bytes hash to the digest and are what the apply controller accepts", () => {
    const out = render(t.dir, "", { substitute: { cluster_name: "c1" } });
    const bytes = artifactBytes(out.objects);
    assert.equal(sha256Digest(bytes), out.digest);
    assert.deepEqual(parseRendered(bytes, out.digest), JSON.parse(bytes.toString("utf8")));
  });
});

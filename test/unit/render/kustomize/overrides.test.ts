// An Application's overrides on already-rendered objects (src/render/kustomize/overrides.ts), with Kustomize's
// semantics and order: patches (strategic merge and JSON 6902, with targets) on the original names, then name
// prefix and suffix with the references to renamed objects updated, then images; the input is left as it was.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { KubeObject } from "../../../../src/render/objects.js";
import { applyOverrides } from "../../../../src/render/kustomize/overrides.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-overrides-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const root = new ArtifactRoot(dir, resolveLimits());

const objects = (): KubeObject[] => [
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { level: "info" } },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      template: { spec: { containers: [{ name: "web", image: "nginx:1.25", envFrom: [{ configMapRef: { name: "settings" } }] }] } },
    },
  },
];
type Deploy = { metadata: { name: string }; spec: { replicas: number; template: { spec: { containers: { image: string; envFrom: { configMapRef: { name: string } }[] }[] } } } };
const deploy = (out: KubeObject[]) => out.find((o) => o.kind === "Deployment") as unknown as Deploy;

void describe("applyOverrides", () => {
  void it("with no overrides gives equal objects, not the same ones", () => {
    const input = objects();
    const out = applyOverrides(root, input, {});
    assert.deepEqual(out, objects());
    assert.notEqual(out[0], input[0]);
  });

  void it("applies strategic merge and JSON 6902 patches, by original name, before renaming", () => {
    const input = objects();
    const out = applyOverrides(root, input, {
      namePrefix: "prod-",
      patches: [
        { patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n" },
        { patch: [{ op: "replace", path: "/data/level", value: "debug" }], target: { kind: "ConfigMap", name: "settings" } },
      ],
    });
    assert.equal(deploy(out).spec.replicas, 3);
    assert.equal(deploy(out).metadata.name, "prod-web", "patched under its original name, then renamed");
    assert.deepEqual(out[0]!.data, { level: "debug" });
    assert.deepEqual(input, objects(), "the input is not changed");
  });

  void it("renames with prefix and suffix and updates the references to the renamed objects", () => {
    const out = applyOverrides(root, objects(), { namePrefix: "prod-", nameSuffix: "-v2" });
    assert.deepEqual(
      out.map((o) => o.metadata?.name),
      ["prod-settings-v2", "prod-web-v2"],
    );
    assert.equal(deploy(out).spec.template.spec.containers[0]!.envFrom[0]!.configMapRef.name, "prod-settings-v2");
  });

  void it("sets images", () => {
    const out = applyOverrides(root, objects(), { images: [{ name: "nginx", newName: "mirror/nginx", newTag: "1.27" }] });
    assert.equal(deploy(out).spec.template.spec.containers[0]!.image, "mirror/nginx:1.27");
  });

  void it("names the override a bad patch came from", () => {
    assert.throws(() => applyOverrides(root, objects(), { patches: [{ patch: "a: [" }] }, {}, "spec.render"), { message: /spec\.render\.patches\[0\]/ });
  });
});

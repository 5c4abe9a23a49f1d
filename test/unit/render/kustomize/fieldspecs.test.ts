import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeDefaultConfig, mergeConfig, readConfig, splitPath } from "../../../../src/render/kustomize/fieldspecs.js";

void describe("kustomize building blocks added for real-world kustomizations", () => {
  void it("splits field-spec paths on / with \\/ kept inside a key", () => {
    assert.deepEqual(splitPath("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"), ["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-secret"]);
    assert.deepEqual(splitPath("/spec/containers[]/image"), ["spec", "containers[]", "image"]);
  });

  void it("merges transformer configurations like Kustomize: duplicates collapse, a create conflict is an error", () => {
    const base = makeDefaultConfig();
    const extra = readConfig({ commonLabels: [{ path: "spec/selector/labels", kind: "Widget", create: true }, { path: "metadata/labels", create: true }] }, "c.yaml");
    const merged = mergeConfig(base, extra);
    assert.equal(merged.commonLabels.length, base.commonLabels.length + 1);
    assert.throws(() => mergeConfig(base, readConfig({ commonLabels: [{ path: "metadata/labels" }] }, "c.yaml")), /conflicting fieldspecs/);
    assert.throws(() => readConfig({ commonlabels: [] }, "c.yaml"), /unknown field "commonlabels"/);
  });
});

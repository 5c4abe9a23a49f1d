// Kustomize's "legacy" output order (src/render/kustomize/order.ts), as `kubectl kustomize` prints a build.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../../../src/render/objects.js";
import { legacySort } from "../../../../src/render/kustomize/order.js";

const o = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
const names = (objs: KubeObject[]) => objs.map((x) => `${x.kind}/${x.metadata.namespace ? `${x.metadata.namespace}/` : ""}${x.metadata.name}`);

void describe("legacySort", () => {
  void it("puts Namespaces and other well-known kinds first and webhooks last, the rest by group_version_kind", () => {
    const sorted = legacySort([
      o("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vw"),
      o("apps/v1", "Deployment", "web", "shop"),
      o("example.com/v1", "Widget", "w", "shop"),
      o("v1", "ConfigMap", "cfg", "shop"),
      o("v1", "Namespace", "shop"),
      o("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
      o("v1", "ServiceAccount", "sa", "shop"),
    ]);
    assert.deepEqual(names(sorted).slice(0, 3), ["Namespace/shop", "CustomResourceDefinition/widgets.example.com", "ServiceAccount/shop/sa"]);
    assert.equal(names(sorted).at(-1), "ValidatingWebhookConfiguration/vw");
    assert.ok(names(sorted).indexOf("ConfigMap/shop/cfg") < names(sorted).indexOf("Deployment/shop/web"), "well-known kinds' order: ConfigMap before Deployment");
  });

  void it("sorts one kind by namespace then name, and keeps input order for equal ids", () => {
    const a1 = o("v1", "ConfigMap", "a", "z");
    const a2 = { ...o("v1", "ConfigMap", "a", "z"), data: { second: "yes" } };
    const sorted = legacySort([o("v1", "ConfigMap", "b", "z"), a1, o("v1", "ConfigMap", "c", "y"), a2]);
    assert.deepEqual(names(sorted), ["ConfigMap/y/c", "ConfigMap/z/a", "ConfigMap/z/a", "ConfigMap/z/b"]);
    assert.equal(sorted[1], a1);
    assert.equal(sorted[2], a2);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compareObjects, orderObjects, phaseOf, runsOf } from "../../../src/apply/order.js";

const obj = (apiVersion: string, kind: string, name: string, namespace?: string) => ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });

describe("apply order", () => {
  const scope = (o: { kind?: unknown; metadata?: { namespace?: unknown } }) =>
    ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "StorageClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService", "PriorityClass"].includes(o.kind as string)
      ? false
      : o.kind === "Widget"
        ? undefined
        : true;

  it("puts Namespaces and CRDs first, other cluster-scoped next, namespaced in dependency order, webhooks last", () => {
    const objects = [
      obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "vw"),
      obj("apps/v1", "Deployment", "api", "web"),
      obj("example.com/v1", "Widget", "w", "web"),
      obj("v1", "Service", "api", "web"),
      obj("v1", "ConfigMap", "cfg", "web"),
      obj("v1", "Secret", "sec", "web"),
      obj("v1", "ServiceAccount", "sa", "web"),
      obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr"),
      obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
      obj("v1", "Namespace", "web"),
      obj("batch/v1", "Job", "migrate", "web"),
      obj("apiregistration.k8s.io/v1", "APIService", "v1.metrics"),
      obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb", "web"),
    ];
    const phases = orderObjects(objects, scope);
    assert.deepEqual(phases.map((p) => p.map((o) => o.kind)), [
      ["Namespace", "CustomResourceDefinition"],
      ["ClusterRole"],
      ["ServiceAccount", "RoleBinding", "Secret", "ConfigMap", "Service", "Deployment", "Job", "Widget"],
      ["APIService", "ValidatingWebhookConfiguration"],
    ]);
  });

  it("treats a custom resource of unknown scope as namespaced when it carries a namespace, else cluster-scoped", () => {
    assert.equal(orderObjects([obj("example.com/v1", "Widget", "w", "web")], () => undefined)[2]!.length, 1);
    assert.equal(orderObjects([obj("example.com/v1", "Widget", "w")], () => undefined)[1]!.length, 1);
  });

  it("a Namespace kind of another group is not phase 0", () => {
    assert.equal(phaseOf(obj("example.com/v1", "Namespace", "x"), false), 1);
  });

  it("is deterministic: equal weights sort by kind, group, namespace and name", () => {
    const a = obj("example.com/v1", "Widget", "b", "n");
    const b = obj("example.com/v1", "Widget", "a", "n");
    const c = obj("example.com/v1", "Gadget", "z", "n");
    assert.deepEqual([a, b, c].sort(compareObjects), [c, b, a]);
  });

  it("splits a phase into runs of one kind weight (applied concurrently within a run)", () => {
    const sorted = [obj("v1", "ServiceAccount", "a", "n"), obj("v1", "ServiceAccount", "b", "n"), obj("v1", "ConfigMap", "c", "n"), obj("example.com/v1", "Gadget", "g", "n"), obj("example.com/v1", "Widget", "w1", "n"), obj("example.com/v1", "Widget", "w2", "n")];
    assert.deepEqual(runsOf(sorted).map((r) => r.map((o) => o.metadata.name)), [["a", "b"], ["c"], ["g"], ["w1", "w2"]]);
  });
});

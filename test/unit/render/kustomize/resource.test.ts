// Kustomize's resources and their ids (src/render/kustomize/resource.ts): cluster scope as Kustomize decides it, the
// current, previous and original ids, equality with "" and "default" as one namespace, id conflicts, the id texts,
// what a resource must have, and deep copies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../../../../src/render/objects.js";
import {
  checkResource,
  cloneRes,
  curId,
  describeRes,
  effectiveNs,
  idConflict,
  idEquals,
  idString,
  kustomizeClusterScoped,
  NON_NAMESPACEABLE,
  newRes,
  orgId,
  allIds,
  storePreviousId,
  type ResId,
} from "../../../../src/render/kustomize/resource.js";

const F = "k.yaml";
const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
const id = (over: Partial<ResId>): ResId => ({ group: "", version: "v1", kind: "ConfigMap", name: "c", namespace: "", clusterScoped: false, ...over });

void describe("kustomize resources", () => {
  void it("decide cluster scope from Kustomize's table, asking the caller only about kinds it does not know, once", () => {
    assert.equal(kustomizeClusterScoped("v1", "Namespace"), true);
    assert.equal(kustomizeClusterScoped("rbac.authorization.k8s.io/v1", "ClusterRole"), true);
    assert.equal(kustomizeClusterScoped("v1", "ConfigMap"), false);
    assert.equal(kustomizeClusterScoped("example.com/v1", "Cluster"), false, "unknown kinds are namespaced without a resolver");
    const asked: string[] = [];
    const scope = (group: string, kind: string) => (asked.push(`${group}/${kind}`), kind === "Cluster");
    assert.equal(kustomizeClusterScoped("example.com/v1", "Cluster", scope), true);
    assert.equal(kustomizeClusterScoped("example.com/v1", "Cluster", scope), true);
    assert.equal(kustomizeClusterScoped("v1", "Namespace", scope), true);
    assert.deepEqual(asked, ["example.com/Cluster"]);
  });

  void it("take ids from the object, with '' and 'default' as one namespace and cluster-scoped kinds in none", () => {
    assert.deepEqual(curId(newRes(obj("apps/v1", "Deployment", "web", "shop"), F)), { group: "apps", version: "v1", kind: "Deployment", name: "web", namespace: "shop", clusterScoped: false });
    assert.deepEqual([effectiveNs(id({})), effectiveNs(id({ namespace: "default" })), effectiveNs(id({ namespace: "x", clusterScoped: true }))], ["default", "default", NON_NAMESPACEABLE]);
    assert.equal(idEquals(id({}), id({ namespace: "default" })), true);
    assert.equal(idEquals(id({}), id({ namespace: "other" })), false);
    assert.equal(idEquals(id({}), id({ version: "v2" })), false);
  });

  void it("keep previous ids with the current group and version; the original is the first of them", () => {
    const r = newRes(obj("apps/v1", "Deployment", "web"), F);
    assert.deepEqual(orgId(r), curId(r));
    storePreviousId(r);
    (r.obj.metadata as { name: string }).name = "prod-web";
    (r.obj.metadata as { namespace?: string }).namespace = "prod";
    assert.deepEqual(r.prev, [{ kind: "Deployment", name: "web", ns: "default" }]);
    assert.deepEqual(orgId(r), { group: "apps", version: "v1", kind: "Deployment", name: "web", namespace: "default", clusterScoped: false });
    assert.deepEqual(
      allIds(r).map((i) => `${i.namespace}/${i.name}`),
      ["default/web", "prod/prod-web"],
    );
  });

  void it("find the first id conflict among added resources, with what it conflicts with", () => {
    const a = newRes(obj("v1", "ConfigMap", "c"), "a.yaml");
    const b = newRes(obj("v1", "ConfigMap", "c", "default"), "b.yaml");
    const other = newRes(obj("v1", "ConfigMap", "c", "other"), "c.yaml");
    assert.equal(idConflict([a], [other]), undefined);
    const hit = idConflict([a], [other, b]);
    assert.deepEqual([hit?.first.file, hit?.second.file, hit?.id.namespace], ["a.yaml", "b.yaml", "default"]);
    assert.equal(idConflict([], [other, newRes(obj("v1", "ConfigMap", "c", "other"), "d.yaml")])?.first, other, "within the added ones too");
  });

  void it("write ids and resources as Kustomize's messages do", () => {
    assert.equal(idString(id({ namespace: "shop" })), "ConfigMap.v1.[noGrp]/c.shop");
    assert.equal(idString({ group: "", version: "", kind: "", name: "", namespace: "", clusterScoped: false }), "[noKind].[noVer].[noGrp]/[noName].[noNs]");
    assert.equal(describeRes(newRes(obj("v1", "ConfigMap", "c", "shop"), F)), "ConfigMap shop/c");
    assert.equal(describeRes(newRes(obj("v1", "Namespace", "n"), F)), "Namespace n");
  });

  void it("refuse a resource without kind or name, or with a non-string apiVersion or namespace, at its file and line", () => {
    const refuse = (o: unknown, message: RegExp) => assert.throws(() => checkResource(o, F, 4), (e: Error & { line?: number }) => message.test(e.message) && e.line === 4);
    refuse([], /a resource must be a map/);
    refuse({ metadata: { name: "x" } }, /missing kind in object/);
    refuse({ kind: "ConfigMap", metadata: {} }, /missing metadata\.name in ConfigMap object/);
    refuse({ kind: "ConfigMap", apiVersion: 1, metadata: { name: "x" } }, /apiVersion must be a string, not 1 \(quote it/);
    refuse({ kind: "ConfigMap", metadata: { name: "x", namespace: 3 } }, /metadata\.namespace must be a string/);
    assert.doesNotThrow(() => checkResource({ kind: "ConfigMap", metadata: { name: "x", namespace: null } }, F));
  });

  void it("copy a resource deeply", () => {
    const r = newRes(obj("v1", "ConfigMap", "c"), F);
    storePreviousId(r);
    r.prefixes.push("p-");
    const c = cloneRes(r);
    (c.obj.metadata as { name: string }).name = "changed";
    c.prev[0]!.name = "changed";
    c.prefixes.push("q-");
    assert.deepEqual([(r.obj.metadata as { name: string }).name, r.prev[0]!.name, r.prefixes], ["c", "c", ["p-"]]);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeRef, duplicateIds, entryOf, idOf, inventoryOf, refOf, refOfEntry, sameInventory, staleEntries } from "../../../src/apply/inventory.js";
import { INVENTORY_ID } from "../../../src/api/schema.js";

const obj = (apiVersion: string, kind: string, name: string, namespace?: string) => ({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });

describe("inventory ids", () => {
  it("are <namespace>_<name>_<group>_<Kind>, with empty namespace for cluster-scoped and empty group for core", () => {
    assert.equal(idOf(refOf(obj("apps/v1", "Deployment", "api", "web"))), "web_api_apps_Deployment");
    assert.equal(idOf(refOf(obj("v1", "Namespace", "web"))), "_web__Namespace");
    assert.equal(idOf(refOf(obj("v1", "ConfigMap", "cfg", "web"))), "web_cfg__ConfigMap");
  });

  it("round-trips through an entry, keeping the apiVersion", () => {
    const r = refOf(obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"));
    const e = entryOf(r);
    assert.deepEqual(e, { id: "_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition", v: "apiextensions.k8s.io/v1" });
    assert.deepEqual(refOfEntry(e), r);
  });

  it("escape '_' (as %5F, and '%' as %25) so RBAC names holding it round-trip, and the id still has three '_'", () => {
    const r = refOf(obj("rbac.authorization.k8s.io/v1", "RoleBinding", "read_only", "team-a"));
    assert.equal(idOf(r), "team-a_read%5Fonly_rbac.authorization.k8s.io_RoleBinding");
    assert.match(idOf(r), new RegExp(INVENTORY_ID), "the CRD's pattern for status.sync.inventory[].id");
    assert.deepEqual(refOfEntry(entryOf(r)), r);
    assert.deepEqual(refOfEntry(entryOf(refOf(obj("rbac.authorization.k8s.io/v1", "ClusterRole", "a%_b")))).name, "a%_b");
    // Ids written before the escaping (every name without "_" or "%") read back the same.
    assert.deepEqual(refOfEntry({ id: "web_api_apps_Deployment", v: "apps/v1" }), { apiVersion: "apps/v1", kind: "Deployment", name: "api", namespace: "web" });
    assert.deepEqual(refOfEntry({ id: "_system:aggregate-to-view_rbac.authorization.k8s.io_ClusterRole", v: "rbac.authorization.k8s.io/v1" }).name, "system:aggregate-to-view");
  });

  it("rejects malformed entries and entries whose version names another group", () => {
    assert.throws(() => refOfEntry({ id: "a_b_c", v: "v1" }), /not <namespace>_<name>_<group>_<Kind>/);
    // Only the escapes idOf writes: anything else would give one object two ids.
    assert.throws(() => refOfEntry({ id: "n_a%5fb__ConfigMap", v: "v1" }), /not <namespace>_<name>_<group>_<Kind>/);
    assert.throws(() => refOfEntry({ id: "n_a%b__ConfigMap", v: "v1" }), /not <namespace>_<name>_<group>_<Kind>/);
    assert.throws(() => refOfEntry({ id: "ns_x_apps_Deployment", v: "v1" }), /another group/);
  });

  it("refuses objects without apiVersion, kind or name", () => {
    assert.throws(() => refOf({ kind: "ConfigMap", metadata: { name: "x" } }), /cannot be inventoried/);
  });

  it("is sorted, deduplicated, and the same object under two versions is one id", () => {
    const inv = inventoryOf([refOf(obj("v1", "ConfigMap", "b", "n")), refOf(obj("v1", "ConfigMap", "a", "n")), refOf(obj("v1", "ConfigMap", "a", "n"))]);
    assert.deepEqual(inv.map((e) => e.id), ["n_a__ConfigMap", "n_b__ConfigMap"]);
    assert.equal(idOf(refOf(obj("autoscaling/v1", "HorizontalPodAutoscaler", "h", "n"))), idOf(refOf(obj("autoscaling/v2", "HorizontalPodAutoscaler", "h", "n"))));
  });

  it("diffs: stale entries are those of the old inventory missing from the new one, by id only", () => {
    const old = [{ id: "n_a__ConfigMap", v: "v1" }, { id: "n_h_autoscaling_HorizontalPodAutoscaler", v: "autoscaling/v1" }, { id: "n_gone__Secret", v: "v1" }];
    const next = [{ id: "n_a__ConfigMap", v: "v1" }, { id: "n_h_autoscaling_HorizontalPodAutoscaler", v: "autoscaling/v2" }];
    assert.deepEqual(staleEntries(old, next), [{ id: "n_gone__Secret", v: "v1" }]);
    assert.deepEqual(staleEntries(undefined, next), []);
    assert.equal(sameInventory(old, next), false);
    assert.equal(sameInventory(next, [...next].reverse()), true);
    assert.equal(sameInventory(undefined, []), true);
  });

  it("finds objects rendered twice", () => {
    assert.deepEqual(duplicateIds([refOf(obj("v1", "ConfigMap", "a", "n")), refOf(obj("v1", "ConfigMap", "a", "n")), refOf(obj("v1", "ConfigMap", "b", "n"))]), ["n_a__ConfigMap"]);
  });

  it("describes objects for humans", () => {
    assert.equal(describeRef(refOf(obj("apps/v1", "Deployment", "api", "web"))), "Deployment web/api");
    assert.equal(describeRef(refOf(obj("v1", "Namespace", "web"))), "Namespace web");
  });
});

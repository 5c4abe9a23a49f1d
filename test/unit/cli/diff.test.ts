// The pure parts of `mooring diff` (src/cli/diff.ts): whom the dry runs are made as, what is left out of the
// comparison (status, server bookkeeping, ignoreDifferences pointers), the unified YAML patch, and the summary with
// its exit code. The dry runs themselves run against a real API server in test/integration/cli/secret-diff.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Application } from "../../../src/api/index.js";
import { diffIdentity, ignoredPointers, normalize, printDiffs, removePointer, yamlPatch, type ObjectDiff } from "../../../src/cli/diff.js";
import type { Io } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";

const app = (spec: Partial<Application["spec"]>): Application & KubeObject =>
  ({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: "shop" }, spec }) as Application & KubeObject;

function capture(): Io & { outs: string[]; errs: string[] } {
  const outs: string[] = [];
  const errs: string[] = [];
  return { outs, errs, color: false, out: (t) => outs.push(t), err: (t) => errs.push(t) };
}

void describe("mooring diff", () => {
  void it("dry-runs as the Application's ServiceAccount, else the default one, else the caller", () => {
    const a = { metadata: { namespace: "shop" }, spec: { serviceAccountName: "deployer" } };
    assert.equal(diffIdentity(a, "mooring-default").user, "system:serviceaccount:shop:deployer");
    assert.match(diffIdentity(a, "x").source, /spec\.serviceAccountName/);
    const b = { metadata: { namespace: "shop" }, spec: {} };
    assert.deepEqual(diffIdentity(b, "default").user, "system:serviceaccount:shop:default");
    assert.match(diffIdentity(b, "default").source, /--default-service-account/);
    for (const none of ["", undefined]) {
      const id = diffIdentity(b, none);
      assert.equal(id.user, undefined);
      assert.match(id.source, /your own credentials/);
    }
  });

  void it("normalizes away status and server bookkeeping, and a new object's uid and timestamp", () => {
    const live = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", uid: "u1", creationTimestamp: "t", resourceVersion: "9", generation: 2, managedFields: [{}], labels: { a: "1" } },
      data: { k: "v" },
      status: { x: 1 },
    } as KubeObject;
    const copy = structuredClone(live);
    assert.deepEqual(normalize(live), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", uid: "u1", creationTimestamp: "t", labels: { a: "1" } }, data: { k: "v" } });
    assert.deepEqual(normalize(live, true)?.metadata, { name: "c", labels: { a: "1" } });
    assert.deepEqual(live, copy, "the input is not changed");
    assert.equal(normalize(undefined), undefined);
  });

  void it("removes the field a JSON pointer names, with ~0 and ~1 escapes and list indexes; ignores what is absent", () => {
    const o = { metadata: { annotations: { "a/b": "1", "c~d": "2", keep: "3" } }, spec: { list: ["x", "y", "z"], n: null } };
    removePointer(o, "/metadata/annotations/a~1b");
    removePointer(o, "/metadata/annotations/c~0d");
    removePointer(o, "/spec/list/1");
    for (const p of ["/spec/list/9", "/spec/list/-1", "/spec/list/x", "/spec/n/deeper", "/missing/a/b", ""]) removePointer(o, p);
    assert.deepEqual(o, { metadata: { annotations: { keep: "3" } }, spec: { list: ["x", "z"], n: null } });
  });

  void it("picks the ignoreDifferences pointers whose group, kind, name and namespace match the object", () => {
    const a = app({
      ignoreDifferences: [
        { group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas"] },
        { kind: "ConfigMap", name: "c", jsonPointers: ["/data/a"] },
        { kind: "ConfigMap", namespace: "other", jsonPointers: ["/data/b"] },
        { group: "", kind: "ConfigMap", jsonPointers: ["/data/c", "/data/d"] },
      ],
    } as Partial<Application["spec"]>);
    const cm = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "shop" } });
    assert.deepEqual(ignoredPointers(a, cm("c")), ["/data/a", "/data/c", "/data/d"]);
    assert.deepEqual(ignoredPointers(a, cm("z")), ["/data/c", "/data/d"]);
    assert.deepEqual(ignoredPointers(a, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" } }), ["/spec/replicas"]);
    assert.deepEqual(ignoredPointers(a, { apiVersion: "extensions/v1beta1", kind: "Deployment", metadata: { name: "d" } }), [], "another group");
    assert.deepEqual(ignoredPointers(app({}), cm("c")), []);
  });

  void it("gives a unified YAML patch from live to sync, /dev/null for a created or pruned object, and nothing when equal", () => {
    const before = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1", b: "2" } };
    const after = { ...before, data: { a: "1", b: "3" } };
    const patch = yamlPatch("v1/ConfigMap/shop/c", before, after);
    assert.equal(patch, ["--- live/v1/ConfigMap/shop/c", "+++ sync/v1/ConfigMap/shop/c", "@@ -1,7 +1,7 @@", " apiVersion: v1", " data:", '   a: "1"', '-  b: "2"', '+  b: "3"', " kind: ConfigMap", " metadata:", "   name: c"].join("\n"));
    assert.ok(!/^Index:|^=+$/m.test(patch), "no Index or ==== lines");
    assert.equal(yamlPatch("x", before, structuredClone(before)), "");
    assert.match(yamlPatch("x", undefined, after), /^--- \/dev\/null\n\+\+\+ sync\/x/);
    assert.match(yamlPatch("x", before, undefined), /^--- live\/x\n\+\+\+ \/dev\/null/);
    const many = { ...before, data: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, "0")}`, "v"])) };
    const changed = { ...many, data: { ...many.data, k10: "w" } };
    const lines = (c: number) => yamlPatch("x", many, changed, c).split("\n").filter((l) => l.startsWith(" ")).length;
    assert.deepEqual([lines(0), lines(1), lines(3)], [0, 2, 6], "context lines around the change");
  });

  void it("prints each change and a summary, and exits 0 when equal, 1 when something differs, 2 when something failed", () => {
    const unchanged: ObjectDiff = { id: "a", change: "unchanged" };
    const changed: ObjectDiff = { id: "v1/ConfigMap/shop/c", change: "changed", patch: "--- live\n+++ sync\n-x\n+y", note: "as system:serviceaccount:shop:d" };
    const failed: ObjectDiff = { id: "apps/v1/Deployment/shop/d", change: "error", message: "forbidden" };
    let io = capture();
    assert.equal(printDiffs([unchanged], io), 0);
    assert.deepEqual([io.outs, io.errs], [[], ["0 objects differ (0 created, 0 changed, 0 pruned), 1 unchanged"]]);
    io = capture();
    assert.equal(printDiffs([unchanged, changed, { id: "n", change: "created", patch: "+z" }], io), 1);
    assert.equal(io.outs[0], "# v1/ConfigMap/shop/c: changed (as system:serviceaccount:shop:d)\n--- live\n+++ sync\n-x\n+y");
    assert.equal(io.errs.at(-1), "2 objects differ (1 created, 1 changed, 0 pruned), 1 unchanged");
    io = capture();
    assert.equal(printDiffs([changed, failed], io), 2);
    assert.deepEqual(io.errs, ["mooring: apps/v1/Deployment/shop/d: forbidden", "1 object differ (0 created, 1 changed, 0 pruned), 0 unchanged, 1 could not be compared"]);
    io = capture();
    assert.equal(printDiffs([changed, failed], io, true), 2);
    assert.deepEqual(JSON.parse(io.outs.join("")), [changed, failed], "-o json: every diff in one document");
    assert.equal(io.errs.length, 1, "only the summary on stderr");
  });
});

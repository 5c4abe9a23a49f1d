// mooring history's table and mooring rollback's choice of entry, from an Application's status, with no cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseTarget, historyRows } from "../../../src/cli/history.js";
import { CliError } from "../../../src/cli/kube.js";

const sha = (c: string) => c.repeat(40);
const D = (c: string) => `sha256:${c.repeat(64)}`;
const e = (id: number, c: string, phase = "Succeeded", url: string | undefined = `http://a/${id}`) => ({
  id, revision: `main@sha1:${sha(c)}`, digest: D(c), startedAt: `2026-03-02T0${id}:00:00Z`, phase, initiatedBy: "auto", trigger: "automated",
  ...(url ? { url } : {}),
  commit: { author: "Ann <ann@x>", message: `change ${id}\n\nbody`, time: "2026-03-02T00:00:00Z" },
  changes: { created: id, configured: 0, unchanged: 1, pruned: 0 },
});
const app = (history: unknown[], rollback?: unknown) => ({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: "demo" }, spec: { sourceRef: { kind: "GitRepository", name: "r" } }, status: { history, ...(rollback ? { rollback } : {}) } }) as never;
// Newest first: #4 failed (d), #3 (c, applied), #2 (b), #1 (a, manifests not kept).
const A = app([e(4, "d", "Failed"), e(3, "c"), e(2, "b"), e(1, "a", "Succeeded", "")]);
const fails = (f: () => unknown, re: RegExp) => assert.throws(f, (err: unknown) => err instanceof CliError && re.test(err.message));

void describe("mooring rollback's target", () => {
  void it("is by default the newest kept success rendering differently from what is applied", () => {
    assert.equal(chooseTarget(A, {}).id, 2);
    // While rolled back to #2, the default is the one before it with another render: #3.
    assert.equal(chooseTarget(app([e(5, "b"), e(3, "c"), e(2, "b")], { digest: D("b"), phase: "Succeeded" }), {}).id, 3);
  });
  void it("is the entry named by --to, or the newest kept success of --revision (a prefix of 7+ digits)", () => {
    assert.equal(chooseTarget(A, { to: 3 }).id, 3);
    assert.equal(chooseTarget(A, { revision: "bbbbbbb" }).id, 2);
    assert.equal(chooseTarget(A, { revision: `main@sha1:${sha("c")}` }).id, 3);
  });
  void it("refuses unknown entries, failed ones, ones whose manifests are not kept, and unknown revisions, naming what is kept", () => {
    fails(() => chooseTarget(A, { to: 9 }), /has no history entry #9; its history holds #4, #3, #2, #1/);
    fails(() => chooseTarget(A, { to: 4 }), /entry #4 .* is a Failed sync; roll back to a Succeeded one \(kept: #3 main@sha1:cccccccccccc, #2 main@sha1:bbbbbbbbbbbb\)/);
    fails(() => chooseTarget(A, { to: 1 }), /are not kept/);
    fails(() => chooseTarget(A, { revision: "eeeeeee" }), /cannot roll back .* to revision eeeeeee: it is not in the history/);
    fails(() => chooseTarget(A, { revision: "aaaaaaa" }), /no successful sync of it with kept manifests/);
    fails(() => chooseTarget(A, { to: 2, revision: "b" }), /give one/);
    fails(() => chooseTarget(app([e(1, "a")]), {}), /nothing to roll back to/);
  });
});

void describe("mooring history's table", () => {
  void it("has one row per entry: id, start, trigger, result, revision, author, subject, changes, kept", () => {
    const rows = historyRows(app([e(3, "c"), e(2, "b")], { digest: D("b"), phase: "Succeeded" }));
    assert.deepEqual(rows[0], ["3", "2026-03-02T03:00:00Z", "automated", "Succeeded", "main@sha1:cccccccccccc", "Ann", "change 3", "+3 ~0 =1 -0", "kept"]);
    assert.equal(rows[1]![8], "kept (rolled back to)");
  });
});

// `mooring get` and `mooring events` without a cluster: kind names, kubectl's ages, rows (READY and MESSAGE mean the
// same for every kind), wide columns, a Provider's address never printed beyond its origin, and event rows' times.
// On the cluster, through the real entry point: test/integration/cli/get-events.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KIND_DEFINITIONS } from "../../../src/api/crd.js";
import { GET_KINDS, ageOf, eventRow, getKindByName, humanDuration, rowOf, rowsTable } from "../../../src/cli/get.js";
import type { KubeObject } from "../../../src/runtime/index.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

void describe("humanDuration (kubectl's)", () => {
  void it("prints what kubectl prints at each boundary", () => {
    const cases: [number, string][] = [
      [-5 * S, "<invalid>"], [0, "0s"], [45 * S, "45s"], [119 * S, "119s"], [2 * M, "2m"], [3 * M + 20 * S, "3m20s"], [10 * M, "10m"], [179 * M, "179m"],
      [3 * H, "3h"], [5 * H + 30 * M, "5h30m"], [8 * H, "8h"], [47 * H, "47h"], [2 * D, "2d"], [2 * D + 3 * H, "2d3h"], [8 * D, "8d"], [400 * D, "400d"], [800 * D, "2y70d"], [9 * 365 * D, "9y"],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  });
  void it("an unreadable or missing time is <unknown>", () => {
    assert.equal(ageOf(undefined, 0), "<unknown>");
    assert.equal(ageOf("yesterday", 0), "<unknown>");
    assert.equal(ageOf("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:05:00Z")), "5m");
  });
});

void describe("kind names", () => {
  void it("every Mooring kind, under its plural, singular and CRD short names (and <name>.<group>), any case", () => {
    assert.deepEqual(GET_KINDS.map((k) => k.kind.kind).sort(), KIND_DEFINITIONS.map((d) => d.descriptor.kind).sort());
    for (const d of KIND_DEFINITIONS) {
      for (const n of [d.descriptor.plural, d.singular, ...d.shortNames, `${d.descriptor.plural}.${d.descriptor.group}`, d.singular.toUpperCase()]) assert.equal(getKindByName(n).kind.kind, d.descriptor.kind, n);
    }
    for (const [n, kind] of [["apps", "Application"], ["mapp", "Application"], ["gitrepo", "GitRepository"], ["hc", "HelmChart"], ["helmrepo", "HelmRepository"], ["syncpolicy", "SyncPolicy"], ["alerts", "Alert"], ["providers", "Provider"]]) assert.equal(getKindByName(n!).kind.kind, kind);
  });
  void it("no name belongs to two kinds", () => {
    const all = GET_KINDS.flatMap((k) => k.names);
    assert.equal(new Set(all).size, all.length);
  });
  void it("an unknown kind is refused, listing the kinds", () => {
    assert.throws(() => getKindByName("deployments"), /unknown kind "deployments"; use one of gitrepositories \(gitrepository, gitrepo, gitrepos\), .*alerts \(alert\)/);
  });
});

const cond = (type: string, status: string, message: string) => ({ type, status, reason: "R", message, lastTransitionTime: "2026-01-01T00:00:00Z" });
const obj = (kind: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject => ({ apiVersion: "x/v1", kind, metadata: { name: "a", namespace: "n", creationTimestamp: "2026-01-01T00:00:00Z" }, spec, ...(status ? { status } : {}) } as KubeObject);

void describe("rows", () => {
  const git = getKindByName("gitrepo");
  void it("READY is the Ready condition, MESSAGE the Stalled message when stalled, else Ready's, 'suspended;' first", () => {
    const ok = rowOf(git, obj("GitRepository", { url: "https://h/r.git" }, { artifact: { revision: "main@sha1:0123456789abcdef0123" }, conditions: [cond("Ready", "True", "stored\n artifact")] }));
    assert.deepEqual(ok, { namespace: "n", name: "a", url: "https://h/r.git", revision: "main@sha1:0123456789abcdef0123", ref: "HEAD", interval: "1m", suspended: false, ready: "True", message: "stored artifact", created: "2026-01-01T00:00:00Z" });
    const stalled = rowOf(git, obj("GitRepository", { url: "u", suspend: true, ref: { branch: "main" } }, { conditions: [cond("Ready", "False", "r"), cond("Stalled", "True", "bad url")] }));
    assert.equal(stalled.message, "suspended; bad url");
    assert.equal(stalled.ref, "branch main");
    assert.equal(rowOf(git, obj("GitRepository", {})).ready, "Unknown", "no status yet");
  });
  void it("a table: revisions shortened, wide columns and AGE only with wide, NAMESPACE with -A", () => {
    const o = obj("GitRepository", { url: "u" }, { artifact: { revision: "main@sha1:0123456789abcdef0123" }, conditions: [cond("Ready", "True", "ok")] });
    const now = Date.parse("2026-01-01T02:00:00Z");
    assert.equal(rowsTable(git, [o], { allNamespaces: false, wide: false, now }), "NAME   URL   REVISION                 READY   MESSAGE\na      u     main@sha1:0123456789ab   True    ok");
    const wide = rowsTable(git, [o], { allNamespaces: true, wide: true, now }).split("\n");
    assert.match(wide[0]!, /^NAMESPACE\s+NAME\s+URL\s+REVISION\s+REF\s+INTERVAL\s+SUSPENDED\s+AGE\s+READY\s+MESSAGE$/);
    assert.match(wide[1]!, /^n\s+a\s+u\s+main@sha1:0123456789ab\s+HEAD\s+1m\s+false\s+120m\s+True\s+ok$/);
  });
  void it("an Application's row keeps the fields `mooring get apps -o json` has always had", () => {
    const app = rowOf(getKindByName("apps"), obj("Application", { sourceRef: { kind: "GitRepository", name: "r" }, path: "./web" }, { sync: { status: "Synced", revision: "main@sha1:1" }, health: { status: "Healthy" }, conditions: [cond("Ready", "True", "applied")] }));
    for (const [k, v] of Object.entries({ namespace: "n", name: "a", revision: "main@sha1:1", synced: "Synced", health: "Healthy", ready: "True", suspended: false, message: "applied" })) assert.equal(app[k], v, k);
    assert.equal(app.source, "GitRepository/r");
  });
  void it("a SyncPolicy has no READY: its window and the WindowOpen message; defaults filled in", () => {
    const k = getKindByName("syncpolicies");
    const r = rowOf(k, obj("SyncPolicy", { windows: [{ kind: "deny", schedule: "* * * * *", duration: "1h" }] }, { applications: 2, conditions: [cond("WindowOpen", "False", "inside deny window 0")] }));
    assert.deepEqual(r, { namespace: "n", name: "a", automated: true, window: "closed", applications: 2, selfHeal: true, prune: true, windows: 1, nextWindowChange: "", message: "inside deny window 0", created: "2026-01-01T00:00:00Z" });
    assert.match(rowsTable(k, [obj("SyncPolicy", {})], { allNamespaces: false, wide: false, now: 0 }).split("\n")[0]!, /^NAME\s+AUTOMATED\s+WINDOW\s+APPS\s+MESSAGE$/);
  });
  void it("a Provider's address is shown as its origin only (a Slack webhook's path is its credential)", () => {
    const r = rowOf(getKindByName("provider"), obj("Provider", { type: "slack", address: "https://hooks.slack.com/services/T0/B0/s3cr3tpath?x=1" }));
    assert.equal(r.address, "https://hooks.slack.com");
    assert.equal(rowOf(getKindByName("provider"), obj("Provider", { type: "generic", address: "not a url s3cr3t" })).address, "(not a URL)");
  });
});

void describe("event rows", () => {
  void it("a series: the last observed time, the first, and its count; a single event: its time", () => {
    const r = eventRow({ apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { name: "e", creationTimestamp: "2026-01-01T00:00:00Z" }, eventTime: "2026-01-01T00:00:00.000000Z", series: { count: 3, lastObservedTime: "2026-01-01T00:10:00.000000Z" }, type: "Warning", reason: "SyncFailed", action: "Sync", note: "failed", reportingController: "mooring-sync", regarding: { kind: "Application", namespace: "n", name: "a" } } as KubeObject);
    assert.deepEqual(r, { time: "2026-01-01T00:10:00.000000Z", firstTime: "2026-01-01T00:00:00.000000Z", count: 3, type: "Warning", reason: "SyncFailed", object: { kind: "Application", namespace: "n", name: "a" }, action: "Sync", reportingController: "mooring-sync", message: "failed" });
    const one = eventRow({ apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { name: "e" }, eventTime: "2026-01-01T00:00:00.000000Z" } as KubeObject);
    assert.equal(one.time, "2026-01-01T00:00:00.000000Z");
    assert.equal(one.count, 1);
  });
});

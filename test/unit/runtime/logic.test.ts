import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Backoff, PollingBackoff, jittered } from "../../../src/runtime/backoff.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { computeStatus, markReady, markReconciling, markStalled, setCondition, type StatusWithConditions } from "../../../src/runtime/conditions.js";
import { LabelSelector } from "../../../src/runtime/labels.js";
import { ownerRequests } from "../../../src/runtime/builder.js";
import { Kinds, type KubeObject, resourcePath } from "../../../src/runtime/kinds.js";
import { setControllerReference, AlreadyOwnedError } from "../../../src/runtime/owners.js";
import { admits, and, annotationChanged, annotationsChanged, generationChanged, labelSelector, labelsChanged, not, or, predicate } from "../../../src/runtime/predicates.js";
import { stableJson } from "../../../src/runtime/status.js";
import { Store } from "../../../src/runtime/store.js";

const obj = (name: string, rv: string, extra: Partial<NonNullable<KubeObject["metadata"]>> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", resourceVersion: rv, ...extra },
});

describe("predicates", () => {
  it("generationChanged passes creates and deletes, and updates only when the generation moved", () => {
    const a = obj("a", "1", { generation: 1 });
    assert.equal(admits(generationChanged, "create", a), true);
    assert.equal(admits(generationChanged, "delete", a), true);
    assert.equal(admits(generationChanged, "update", obj("a", "2", { generation: 1 }), a), false);
    assert.equal(admits(generationChanged, "update", obj("a", "3", { generation: 2 }), a), true);
  });

  it("labelsChanged and annotationsChanged compare the maps, not their identity", () => {
    const a = obj("a", "1", { labels: { x: "1" }, annotations: { n: "1" } });
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "1" } }), a), false);
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "2" } }), a), true);
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "1", y: "1" } }), a), true);
    assert.equal(admits(annotationsChanged, "update", obj("a", "2", { annotations: { n: "1" } }), a), false);
    assert.equal(admits(annotationsChanged, "update", obj("a", "2", {}), a), true);
  });

  it("annotationChanged(key) passes updates that change that one annotation only", () => {
    const p = annotationChanged("example.com/requested-at");
    const a = obj("a", "1", { annotations: { "example.com/requested-at": "t1", other: "1" } });
    assert.equal(admits(p, "update", obj("a", "2", { annotations: { "example.com/requested-at": "t1", other: "2" } }), a), false);
    assert.equal(admits(p, "update", obj("a", "2", { annotations: { "example.com/requested-at": "t2" } }), a), true);
    assert.equal(admits(p, "update", obj("a", "2", {}), a), true);
    assert.equal(admits(p, "create", a), true);
  });

  it("labelSelector filters every event type; custom predicates and combinators compose", () => {
    const p = labelSelector("app=web,tier in (a,b),!skip");
    assert.equal(admits(p, "create", obj("a", "1", { labels: { app: "web", tier: "a" } })), true);
    assert.equal(admits(p, "delete", obj("a", "1", { labels: { app: "web", tier: "c" } })), false);
    assert.equal(admits(p, "update", obj("a", "1", { labels: { app: "web", tier: "b", skip: "" } })), false);
    const named = predicate((o) => o.metadata?.name === "a");
    assert.equal(admits(and(named, p), "create", obj("a", "1", { labels: { app: "web", tier: "a" } })), true);
    assert.equal(admits(and(named, p), "create", obj("b", "1", { labels: { app: "web", tier: "a" } })), false);
    assert.equal(admits(or(named, p), "create", obj("a", "1")), true);
    assert.equal(admits(not(named), "create", obj("a", "1")), false);
  });
});

describe("label selectors", () => {
  it("parses and matches the API server's syntax", () => {
    const s = LabelSelector.parse("a=1, b!=2, c notin (x, y), d, !e, f==3");
    assert.equal(s.matches({ a: "1", d: "", f: "3" }), true);
    assert.equal(s.matches({ a: "1", d: "", f: "3", b: "2" }), false);
    assert.equal(s.matches({ a: "1", d: "", f: "3", c: "x" }), false);
    assert.equal(s.matches({ a: "1", f: "3" }), false);
    assert.equal(s.matches({ a: "1", d: "", f: "3", e: "1" }), false);
    assert.equal(LabelSelector.parse("").matches({}), true);
    assert.throws(() => LabelSelector.parse("a=(b"), /invalid label selector/);
    assert.equal(LabelSelector.fromObject({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "In", values: ["x"] }] }).toString(), "a=1,b in (x)");
  });
});

describe("conditions", () => {
  it("keeps lastTransitionTime when only the reason or message changes", () => {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    let c = setCondition(undefined, { type: "Ready", status: "False", reason: "A", message: "a" }, t0);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:00:00Z");
    c = setCondition(c, { type: "Ready", status: "False", reason: "B", message: "b" }, t0 + 60_000);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:00:00Z");
    assert.equal(c[0]!.reason, "B");
    c = setCondition(c, { type: "Ready", status: "True", reason: "B", message: "b" }, t0 + 120_000);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:02:00Z");
    assert.equal(setCondition(c, { type: "Ready", status: "True", reason: "B", message: "b" }, t0 + 999_000), c, "no change returns the same array");
  });

  it("follows kstatus: Reconciling/Stalled abnormal-true, Ready positive, observedGeneration recorded", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    let s: StatusWithConditions = markReconciling({}, 3, "Progressing", "working", now);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "InProgress");
    assert.equal(s.observedGeneration, 3);
    s = markStalled(s, 3, "BadSpec", "cannot", now);
    assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status}`).sort(), ["Ready=False", "Stalled=True"]);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "Failed");
    s = markReady(s, 3, "Succeeded", "done", now);
    assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status}`), ["Ready=True"]);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "Current");
    assert.equal(computeStatus({ metadata: { generation: 4 }, status: s }), "InProgress", "a newer generation is not observed yet");
  });
});

describe("store", () => {
  it("a relist reports only real changes: adds, updates by resourceVersion, and deletes", () => {
    const s = new Store();
    assert.equal(s.replace([obj("a", "1"), obj("b", "1"), obj("c", "1")]).length, 3);
    const changes = s.replace([obj("a", "1"), obj("b", "2"), obj("d", "1")]);
    assert.deepEqual(
      changes.map((c) => `${c.type}:${c.obj.metadata!.name}`).sort(),
      ["add:d", "delete:c", "update:b"],
    );
    assert.equal(s.upsert(obj("a", "1")), undefined, "the same resourceVersion again is no change");
    assert.deepEqual(s.keys().sort(), ["ns/a", "ns/b", "ns/d"]);
  });

  it("indexes by namespace, by owner and by custom functions, and keeps indexes current", () => {
    const s = new Store({ byApp: (o) => [o.metadata?.labels?.app ?? ""] });
    s.upsert(obj("a", "1", { labels: { app: "x" }, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: "u1" }] }));
    s.upsert(obj("b", "1", { labels: { app: "y" } }));
    assert.deepEqual(s.byIndex("byApp", "x").map((o) => o.metadata!.name), ["a"]);
    assert.deepEqual(s.byIndex("owner", "u1").map((o) => o.metadata!.name), ["a"]);
    assert.equal(s.byIndex("namespace", "ns").length, 2);
    s.upsert(obj("a", "2", { labels: { app: "y" } }));
    assert.deepEqual(s.byIndex("byApp", "x"), []);
    assert.equal(s.byIndex("byApp", "y").length, 2);
    s.delete(obj("b", "2"));
    assert.deepEqual(s.byIndex("byApp", "y").map((o) => o.metadata!.name), ["a"]);
    assert.throws(() => s.byIndex("nope", "x"), /no index named "nope"/);
  });
});

describe("backoff and helpers", () => {
  it("jittered backoff doubles to its cap and resets after a quiet period", () => {
    const clock = new FakeClock();
    const b = new Backoff({ initialMs: 800, maxMs: 30_000, jitter: 1, clock, random: () => 0.5 });
    const d = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(d, [1200, 2400, 4800, 9600, 19200, 38400, 45000, 45000]);
    clock.advance(120_001);
    assert.equal(b.next(), 1200);
  });

  it("PollingBackoff: the jittered interval after a success; after failures from firstRetryMs, doubled up to the interval", () => {
    const b = new PollingBackoff({ firstRetryMs: 1_000, jitter: 0.1, random: () => 0.5 });
    assert.equal(b.success("ns/a", 60_000), 63_000);
    assert.deepEqual(Array.from({ length: 8 }, () => b.failure("ns/a", 60_000)), [1_050, 2_100, 4_200, 8_400, 16_800, 33_600, 63_000, 63_000]);
    assert.equal(b.failure("ns/b", 60_000), 1_050, "counted per key");
    assert.equal(b.success("ns/a", 60_000), 63_000);
    assert.equal(b.failure("ns/a", 60_000), 1_050, "a success resets the count");
    b.failure("ns/a", 60_000);
    b.forget("ns/a");
    assert.equal(b.failure("ns/a", 60_000), 1_050, "forget() resets it too");
    assert.equal(jittered(1_000, 0.1, () => 0), 1_000);
    assert.equal(jittered(1_000, 0.1, () => 0.999), 1_100);
  });

  it("stableJson sorts object keys at every depth and keeps array order", () => {
    assert.equal(stableJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
    assert.equal(stableJson({ x: 1, y: 2 }), stableJson({ y: 2, x: 1 }));
    assert.equal(stableJson(null), "null");
  });

  it("owner mapping follows only controller references of the owner kind", () => {
    const owner = { ...Kinds.Deployment };
    const child = obj("c", "1", {
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "d1", uid: "1", controller: true },
        { apiVersion: "apps/v1", kind: "Deployment", name: "d2", uid: "2" },
        { apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "3", controller: true },
      ],
    });
    assert.deepEqual(ownerRequests(owner)(child), [{ namespace: "ns", name: "d1" }]);
    assert.equal(ownerRequests(owner, false)(child).length, 2);
  });

  it("setControllerReference refuses a second controller and cross-namespace owners", () => {
    const o1 = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "o1", namespace: "ns", uid: "u1" } };
    const o2 = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "o2", namespace: "ns", uid: "u2" } };
    const child = obj("c", "1");
    setControllerReference(o1, child);
    setControllerReference(o1, child);
    assert.equal(child.metadata!.ownerReferences!.length, 1);
    assert.throws(() => setControllerReference(o2, child), AlreadyOwnedError);
    assert.throws(() => setControllerReference({ ...o1, metadata: { ...o1.metadata, namespace: "other" } }, obj("d", "1")), /cross-namespace/);
  });

  it("builds resource paths and refuses scope mistakes", () => {
    assert.equal(resourcePath(Kinds.ConfigMap, "ns", "a"), "/api/v1/namespaces/ns/configmaps/a");
    assert.equal(resourcePath(Kinds.Deployment, "ns", "a", "status"), "/apis/apps/v1/namespaces/ns/deployments/a/status");
    assert.equal(resourcePath(Kinds.Namespace, undefined, "x"), "/api/v1/namespaces/x");
    assert.equal(resourcePath(Kinds.ConfigMap), "/api/v1/configmaps");
    assert.throws(() => resourcePath(Kinds.Namespace, "ns"), /cluster-scoped/);
  });
});

describe("documented defaults", () => {
  it("leader election defaults to 15 s / 10 s / 2 s and refuses inconsistent durations", async () => {
    const { LeaderElector } = await import("../../../src/runtime/leaderelection.js");
    const le = new LeaderElector({} as never, { namespace: "ns", name: "lease", identity: "me" });
    const fields = le as unknown as { leaseDuration: number; renewDeadline: number; retryPeriod: number };
    assert.deepEqual([fields.leaseDuration, fields.renewDeadline, fields.retryPeriod], [15_000, 10_000, 2_000]);
    assert.throws(() => new LeaderElector({} as never, { namespace: "ns", name: "l", leaseDurationMs: 5000, renewDeadlineMs: 6000 }), /leaseDuration > renewDeadline/);
  });

  it("reflector backoff defaults to 800 ms doubling to 30 s", () => {
    const b = new Backoff({ clock: new FakeClock(), random: () => 0 });
    const d = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(d, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });
});

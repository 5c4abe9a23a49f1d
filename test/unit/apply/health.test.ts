import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aggregateHealth, assessHealth, isWorse } from "../../../src/apply/health.js";

const dep = (spec: object, status: object | undefined, generation = 2) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "n", generation }, spec, status });

describe("Deployment health", () => {
  it("is Progressing while the controller has not observed the latest generation", () => {
    const h = assessHealth(dep({ replicas: 1 }, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }));
    assert.equal(h.status, "Progressing");
    assert.match(h.message!, /observed generation 1 of 2/);
  });
  it("is Progressing without status, and while replicas are not updated, available or ready", () => {
    assert.equal(assessHealth(dep({ replicas: 2 }, undefined)).status, "Progressing");
    assert.match(assessHealth(dep({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 1 })).message!, /1 of 2 replicas updated/);
    assert.match(assessHealth(dep({ replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 2 })).message!, /old replicas pending termination/);
    assert.match(assessHealth(dep({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1, readyReplicas: 2 })).message!, /1 of 2 updated replicas available/);
    assert.match(assessHealth(dep({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 0 })).message!, /0 of 1 replicas ready/);
  });
  it("is Degraded when the progress deadline is exceeded", () => {
    const h = assessHealth(dep({ replicas: 1 }, { observedGeneration: 2, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "ReplicaSet d-1 has timed out progressing." }] }));
    assert.equal(h.status, "Degraded");
    assert.match(h.message!, /progress deadline.*timed out/);
  });
  it("is Healthy when every replica is updated, ready and available; Suspended when paused", () => {
    const s = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };
    assert.deepEqual(assessHealth(dep({ replicas: 3 }, s)), { status: "Healthy" });
    assert.equal(assessHealth(dep({ replicas: 3, paused: true }, s)).status, "Suspended");
    assert.equal(assessHealth(dep({ replicas: 0 }, { observedGeneration: 2 })).status, "Healthy");
  });
});

describe("other workloads", () => {
  it("StatefulSet: ready, partitioned and revision-based rollouts", () => {
    const ss = (spec: object, status: object) => ({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "s", generation: 1 }, spec, status: { observedGeneration: 1, ...status } });
    assert.equal(assessHealth(ss({ replicas: 2 }, { readyReplicas: 1 })).status, "Progressing");
    assert.equal(assessHealth(ss({ replicas: 2 }, { readyReplicas: 2, updatedReplicas: 2, currentRevision: "a", updateRevision: "b" })).status, "Progressing");
    assert.equal(assessHealth(ss({ replicas: 2 }, { readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2, currentRevision: "b", updateRevision: "b" })).status, "Healthy");
    assert.equal(assessHealth(ss({ replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } }, { readyReplicas: 3, updatedReplicas: 1 })).status, "Healthy");
    assert.equal(assessHealth(ss({ replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } }, { readyReplicas: 3, updatedReplicas: 1 })).status, "Progressing");
  });
  it("DaemonSet: desired vs updated, available and ready", () => {
    const ds = (status: object) => ({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "d", generation: 1 }, spec: {}, status: { observedGeneration: 1, ...status } });
    assert.equal(assessHealth(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 1 })).status, "Progressing");
    assert.equal(assessHealth(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2 })).status, "Healthy");
  });
  it("ReplicaSet: replica failure is Degraded", () => {
    const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "r" }, spec: { replicas: 1 }, status: { conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "quota" }] } };
    assert.equal(assessHealth(rs).status, "Degraded");
  });
  it("Pod: ready, succeeded, failed, crash-looping, unschedulable", () => {
    const pod = (status: object, spec: object = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec, status });
    assert.equal(assessHealth(pod({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] })).status, "Healthy");
    assert.equal(assessHealth(pod({ phase: "Succeeded" })).status, "Healthy");
    assert.equal(assessHealth(pod({ phase: "Failed", reason: "Evicted" })).status, "Degraded");
    assert.match(assessHealth(pod({ phase: "Running", containerStatuses: [{ name: "app", state: { waiting: { reason: "CrashLoopBackOff" } } }] })).message!, /app is waiting: CrashLoopBackOff/);
    assert.match(assessHealth(pod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" }] })).message!, /not scheduled: Unschedulable/);
  });
  it("Job and CronJob", () => {
    const job = (status: object, spec: object = {}) => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec, status });
    assert.equal(assessHealth(job({ conditions: [{ type: "Complete", status: "True" }] })).status, "Healthy");
    assert.equal(assessHealth(job({ conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] })).status, "Degraded");
    assert.equal(assessHealth(job({ active: 1 })).status, "Progressing");
    assert.equal(assessHealth(job({}, { suspend: true })).status, "Suspended");
    assert.equal(assessHealth({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { suspend: true } }).status, "Suspended");
    assert.equal(assessHealth({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: {} }).status, "Healthy");
  });
});

describe("other built-in kinds", () => {
  it("PVC is Healthy when Bound, Degraded when Lost", () => {
    const pvc = (phase?: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "c" }, status: phase ? { phase } : {} });
    assert.equal(assessHealth(pvc("Bound")).status, "Healthy");
    assert.equal(assessHealth(pvc("Pending")).status, "Progressing");
    assert.equal(assessHealth(pvc("Lost")).status, "Degraded");
  });
  it("Service waits for a load balancer address only when it is of type LoadBalancer; Ingress always", () => {
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { type: "ClusterIP" } }).status, "Healthy");
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { type: "LoadBalancer" }, status: { loadBalancer: {} } }).status, "Progressing");
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } } }).status, "Healthy");
    assert.equal(assessHealth({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "i" }, status: { loadBalancer: {} } }).status, "Progressing");
  });
  it("Namespace, CRD, APIService", () => {
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Namespace", metadata: { name: "n" }, status: { phase: "Terminating" } }).status, "Progressing");
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Namespace", metadata: { name: "n" }, status: { phase: "Active" } }).status, "Healthy");
    const crd = (conds: object[]) => ({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "w" }, status: { conditions: conds } });
    assert.equal(assessHealth(crd([{ type: "Established", status: "True" }])).status, "Healthy");
    assert.equal(assessHealth(crd([{ type: "Established", status: "False" }])).status, "Progressing");
    assert.equal(assessHealth(crd([{ type: "NamesAccepted", status: "False", reason: "KindConflict" }])).status, "Degraded");
    assert.equal(assessHealth({ apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", metadata: { name: "a" }, status: { conditions: [{ type: "Available", status: "False", reason: "MissingEndpoints" }] } }).status, "Progressing");
  });
  it("generic objects: observedGeneration, Stalled, Reconciling, Ready; nothing to wait for is Healthy", () => {
    const cr = (status: object | undefined, generation = 1) => ({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", generation }, status });
    assert.equal(assessHealth(cr(undefined)).status, "Healthy");
    assert.equal(assessHealth(cr({ observedGeneration: 1 }, 2)).status, "Progressing");
    assert.equal(assessHealth(cr({ conditions: [{ type: "Stalled", status: "True", reason: "Broken" }] })).status, "Degraded");
    assert.equal(assessHealth(cr({ conditions: [{ type: "Reconciling", status: "True" }] })).status, "Progressing");
    assert.equal(assessHealth(cr({ conditions: [{ type: "Ready", status: "False", reason: "Waiting" }] })).status, "Progressing");
    assert.equal(assessHealth(cr({ conditions: [{ type: "Ready", status: "True" }] })).status, "Healthy");
    assert.equal(assessHealth({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }).status, "Healthy");
  });
  it("a missing object is Missing; one being deleted is Progressing", () => {
    assert.equal(assessHealth(undefined).status, "Missing");
    assert.equal(assessHealth({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", deletionTimestamp: "2026-01-01T00:00:00Z" } }).status, "Progressing");
  });
});

describe("aggregation", () => {
  it("ranks Degraded > Missing > Unknown > Progressing > Suspended > Healthy", () => {
    assert.ok(isWorse("Degraded", "Missing"));
    assert.ok(isWorse("Missing", "Unknown"));
    assert.ok(isWorse("Unknown", "Progressing"));
    assert.ok(isWorse("Progressing", "Suspended"));
    assert.ok(isWorse("Suspended", "Healthy"));
  });
  it("is the worst status, naming the first object with it and counting the other unhealthy ones", () => {
    const h = aggregateHealth([
      { object: "ConfigMap n/c", status: "Healthy" },
      { object: "Deployment n/a", status: "Progressing", message: "0 of 1 replicas ready" },
      { object: "Deployment n/b", status: "Degraded", message: "rollout exceeded its progress deadline" },
      { object: "Deployment n/c", status: "Degraded", message: "other" },
    ]);
    assert.equal(h.status, "Degraded");
    assert.equal(h.message, "Deployment n/b: rollout exceeded its progress deadline (and 2 other objects not healthy)");
    assert.deepEqual(aggregateHealth([]), { status: "Healthy" });
    assert.deepEqual(aggregateHealth([{ object: "x", status: "Progressing", message: "m" }]), { status: "Progressing", message: "x: m" });
  });
});

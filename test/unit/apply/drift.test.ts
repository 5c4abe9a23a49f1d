import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyBody, comparable, driftedFields, groupWaves, ignoredPointers, objectDrift, parsePointer, parseQuantity, stripPointers } from "../../../src/apply/drift.js";
import type { KubeObject } from "../../../src/runtime/kinds.js";

const deploy = (over: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "ns", labels: { app: "web" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "img:1", ports: [{ containerPort: 80 }], resources: { requests: { cpu: "1", memory: "1Gi" } } }] },
    },
    ...over,
  },
});

/** What the API server returns for deploy(): defaults added, quantities canonicalised, status and metadata filled. */
const served = (): KubeObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "ns", labels: { app: "web" }, uid: "u", resourceVersion: "7", generation: 1, annotations: { "deployment.kubernetes.io/revision": "1" } },
  spec: {
    replicas: 2,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        restartPolicy: "Always",
        dnsPolicy: "ClusterFirst",
        containers: [
          {
            name: "app",
            image: "img:1",
            imagePullPolicy: "IfNotPresent",
            terminationMessagePath: "/dev/termination-log",
            ports: [{ containerPort: 80, protocol: "TCP" }],
            resources: { requests: { cpu: "1000m", memory: "1024Mi" } },
          },
        ],
      },
    },
  },
  status: { replicas: 2, readyReplicas: 2 },
});

describe("driftedFields / objectDrift", () => {
  it("server defaults, status, metadata and canonical quantities are not drift", () => {
    assert.deepEqual(objectDrift(deploy(), served(), undefined), []);
  });

  it("a changed field is drift, named by its JSON pointer", () => {
    const live = served();
    (live.spec as any).replicas = 5;
    (live.spec as any).template.spec.containers[0].image = "img:2";
    assert.deepEqual(objectDrift(deploy(), live, undefined), ["/spec/replicas", "/spec/template/spec/containers/0/image"]);
  });

  it("a changed quantity is drift; the same quantity written differently is not", () => {
    const live = served();
    (live.spec as any).template.spec.containers[0].resources.requests.cpu = "500m";
    assert.deepEqual(objectDrift(deploy(), live, undefined), ["/spec/template/spec/containers/0/resources/requests/cpu"]);
    assert.equal(parseQuantity("1000m"), 1);
    assert.equal(parseQuantity("1Gi"), parseQuantity("1024Mi"));
    assert.equal(parseQuantity("0.5"), parseQuantity("500m"));
    assert.equal(parseQuantity("1e3"), 1000);
    assert.equal(parseQuantity("abc"), undefined);
  });

  it("quantity normalisation applies only where quantities live (a ConfigMap value '1000m' is not '1')", () => {
    assert.deepEqual(driftedFields({ data: { x: "1000m" } }, { data: { x: "1" } }), ["/data/x"]);
  });

  it("int-or-string: 8080 equals '8080'", () => {
    assert.deepEqual(driftedFields({ spec: { ports: [{ port: 80, targetPort: 8080 }] } }, { spec: { ports: [{ port: 80, targetPort: "8080", protocol: "TCP" }] } }), []);
  });

  it("a removed label or annotation Mooring set is drift; extra ones are not", () => {
    const live = served();
    live.metadata!.labels = { other: "x" };
    assert.deepEqual(objectDrift(deploy(), live, undefined), ["/metadata/labels/app"]);
  });

  it("a container removed from the list is drift; a container added by someone else is not", () => {
    const live = served();
    (live.spec as any).template.spec.containers = [{ name: "sidecar", image: "s" }];
    assert.deepEqual(objectDrift(deploy(), live, undefined), ["/spec/template/spec/containers/0"]);
    const more = served();
    (more.spec as any).template.spec.containers.push({ name: "sidecar", image: "s" });
    assert.deepEqual(objectDrift(deploy(), more, undefined), []);
  });

  it("a long list of unnamed elements another manager inserted into is matched nearest index first, not by a scan from the start", () => {
    // 2000 role rules with one inserted at the front: a scan from index 0 compares ~2 million pairs (seconds); the
    // nearest-first search compares about one per element. The bound is loose, for a loaded machine.
    const rules = Array.from({ length: 2000 }, (_, i) => ({ apiGroups: [""], resources: [`r${i}`], verbs: ["get", "list"] }));
    const started = performance.now();
    assert.deepEqual(driftedFields({ rules }, { rules: [{ apiGroups: ["x"], resources: ["y"], verbs: ["z"] }, ...rules] }), []);
    const changed = rules.map((r, i) => (i === 1500 ? { ...r, verbs: ["delete"] } : r));
    assert.deepEqual(driftedFields({ rules }, { rules: changed }), ["/rules/1500"]);
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
  });

  it("lists of scalars are compared whole", () => {
    assert.deepEqual(driftedFields({ args: ["a", "b"] }, { args: ["a", "b", "c"] }), ["/args"]);
    assert.deepEqual(driftedFields({ args: ["a", "b"] }, { args: ["a", "b"] }), []);
  });

  it("zero values the server drops are not drift", () => {
    assert.deepEqual(driftedFields({ spec: { hostNetwork: false, x: "", y: {}, z: [], n: null } }, { spec: {} }), []);
  });

  it("Secret stringData is compared as the base64 data the server stores", () => {
    const secret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { password: "hunter2" } };
    const live: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { password: Buffer.from("hunter2").toString("base64") }, type: "Opaque" };
    assert.deepEqual(objectDrift(secret, live, undefined), []);
    assert.deepEqual(objectDrift(secret, { ...live, data: { password: "eA==" } }, undefined), ["/data/password"]);
    assert.equal(comparable(secret).stringData, undefined);
  });
});

describe("ignoreDifferences", () => {
  const rules = [{ group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas", "/metadata/labels/team~1owner"] }];

  it("parses RFC 6901 pointers", () => {
    assert.deepEqual(parsePointer("/a~1b/c~0d/0"), ["a/b", "c~d", "0"]);
    assert.throws(() => parsePointer("spec"), /must start with/);
  });

  it("matches by group, kind, name and namespace (omitted group = core group)", () => {
    assert.deepEqual(ignoredPointers(deploy(), rules), ["/spec/replicas", "/metadata/labels/team~1owner"]);
    assert.deepEqual(ignoredPointers(deploy(), [{ kind: "Deployment", jsonPointers: ["/x"] }]), []);
    assert.deepEqual(ignoredPointers(deploy(), [{ group: "apps", kind: "Deployment", name: "other", jsonPointers: ["/x"] }]), []);
    assert.deepEqual(ignoredPointers(deploy(), [{ group: "apps", kind: "Deployment", namespace: "ns", name: "web", jsonPointers: ["/x"] }]), ["/x"]);
  });

  it("ignored fields are not compared", () => {
    const live = served();
    (live.spec as any).replicas = 9;
    assert.deepEqual(objectDrift(deploy(), live, rules), []);
  });

  it("stripPointers removes fields (and array elements, highest index first) without touching the input", () => {
    const d = deploy();
    const s = stripPointers(d, ["/spec/replicas", "/spec/nothing/here"]);
    assert.equal((s.spec as any).replicas, undefined);
    assert.equal((d.spec as any).replicas, 2);
    assert.deepEqual(stripPointers({ apiVersion: "v1", kind: "X", a: [1, 2, 3] } as KubeObject, ["/a/0", "/a/2"]), { apiVersion: "v1", kind: "X", a: [2] });
  });

  it("applyBody: a new object gets the rendered value; an existing one keeps the live value; a field absent live is left out", () => {
    assert.equal((applyBody(deploy(), undefined, ["/spec/replicas"]).spec as any).replicas, 2);
    const live = served();
    (live.spec as any).replicas = 7;
    assert.equal((applyBody(deploy(), live, ["/spec/replicas"]).spec as any).replicas, 7);
    delete (live.spec as any).replicas;
    assert.equal("replicas" in (applyBody(deploy(), live, ["/spec/replicas"]).spec as any), false);
    const labelled = served();
    labelled.metadata!.labels = { ...labelled.metadata!.labels, "team/owner": "b" };
    assert.equal(applyBody(deploy(), labelled, ["/metadata/labels/team~1owner"]).metadata?.labels?.["team/owner"], "b");
  });
});

describe("groupWaves", () => {
  const cm = (name: string, wave?: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(wave !== undefined ? { annotations: { "delivery.mooring.dev/sync-wave": wave } } : {}) } });

  it("groups by the annotation, lowest first, default 0, negatives allowed", () => {
    const w = groupWaves([cm("a", "2"), cm("b"), cm("c", "-1"), cm("d", "0"), cm("e", "2")]);
    assert.deepEqual(w.map((x) => [x.wave, x.objects.map((o) => o.metadata!.name)]), [[-1, ["c"]], [0, ["b", "d"]], [2, ["a", "e"]]]);
  });

  it("one wave when nothing is annotated", () => {
    assert.equal(groupWaves([cm("a"), cm("b")]).length, 1);
  });

  it("a value that is not an integer is an error naming the object", () => {
    assert.throws(() => groupWaves([cm("bad", "1.5")]), /ConfigMap bad: annotation delivery\.mooring\.dev\/sync-wave is "1\.5", not an integer/);
  });
});

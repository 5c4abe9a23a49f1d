import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StorageError } from "../../../src/artifact/storage.js";
import { Annotations } from "../../../src/api/index.js";
import { HelmSourceError } from "../../../src/source/helm-repo.js";
import {
  chartFailed,
  chartFetched,
  gitMessage,
  helmFailure,
  isNewFailure,
  repositoryFailed,
  repositoryRead,
  startStatus,
  type ChartArtifact,
  type HelmChartStatus,
  type HelmFailure,
  type HelmRepositoryStatus,
} from "../../../src/source/helm-status.js";
import type { Condition, KubeObject } from "../../../src/runtime/index.js";

const NOW = Date.parse("2026-03-02T23:00:00Z");
const EARLIER = "2026-03-01T00:00:00Z";
const stamp = { gen: 3, now: NOW };
const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER = `sha256:${"b".repeat(64)}`;

const cond = (s: { conditions?: Condition[] }, type: string) => s.conditions?.find((c) => c.type === type);
const types = (s: { conditions?: Condition[] }) => (s.conditions ?? []).map((c) => c.type).sort();

function obj(annotations?: Record<string, string>): KubeObject {
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "HelmChart", metadata: { name: "c", namespace: "ns", generation: 3, annotations } };
}

const artifact: ChartArtifact = { url: "http://127.0.0.1:1/helmchart/ns/c/x.tgz", revision: "1.0.0", digest: DIGEST, size: 10, lastUpdateTime: EARLIER };
const failing: HelmFailure = { reason: "RepositoryUnreachable", message: "connection refused", retryable: true };
// An earlier failure, as a status that is Ready=False with FetchFailed.
const failedBefore: Condition[] = [
  { type: "Ready", status: "False", reason: "RepositoryUnreachable", message: "connection refused", lastTransitionTime: EARLIER, observedGeneration: 2 },
  { type: "FetchFailed", status: "True", reason: "RepositoryUnreachable", message: "connection refused", lastTransitionTime: EARLIER, observedGeneration: 2 },
];

describe("startStatus", () => {
  it("keeps the last status, observes the generation, and records a reconcile request", () => {
    const s = startStatus(obj({ [Annotations.reconcileRequestedAt]: "r1" }), { chartName: "demo", observedGeneration: 2 } as HelmChartStatus);
    assert.deepEqual(s, { chartName: "demo", observedGeneration: 3, lastHandledReconcileAt: "r1" });
  });

  it("without a request keeps the last handled one", () => {
    assert.equal(startStatus(obj(), { lastHandledReconcileAt: "r0" } as HelmChartStatus).lastHandledReconcileAt, "r0");
  });
});

describe("helmFailure", () => {
  it("a HelmSourceError keeps its reason; credentials in a URL are scrubbed from the message", () => {
    assert.deepEqual(helmFailure(new HelmSourceError("ChartDownloadFailed", "GET https://user:pw@charts.example/x.tgz: 500")), {
      reason: "ChartDownloadFailed",
      message: "GET https://charts.example/x.tgz: 500",
      retryable: true,
    });
  });

  it("a storage failure is StorageOperationFailed, retried", () => {
    const f = helmFailure(new StorageError("disk full", undefined));
    assert.equal(f.reason, "StorageOperationFailed");
    assert.equal(f.retryable, true);
  });

  it("anything else is a bug and is thrown again", () => {
    const bug = new TypeError("x is undefined");
    assert.throws(() => helmFailure(bug), (e) => e === bug);
  });
});

describe("isNewFailure", () => {
  const table: [string, { conditions?: Condition[] }, boolean][] = [
    ["no FetchFailed yet", {}, true],
    ["the same message", { conditions: failedBefore }, false],
    ["another message", { conditions: [{ ...failedBefore[1]!, message: "timeout" }] }, true],
  ];
  for (const [name, old, want] of table) it(name, () => assert.equal(isNewFailure(old, failing), want));
});

describe("repositoryRead", () => {
  it("a new index: its digest, chart count and time; Ready=True with the count; FetchFailed removed", () => {
    const s = repositoryRead({ conditions: failedBefore }, { kind: "index", digest: DIGEST, charts: 2 }, stamp);
    assert.deepEqual(s.index, { digest: DIGEST, charts: 2, lastUpdateTime: "2026-03-02T23:00:00Z" });
    assert.deepEqual(types(s), ["Ready"]);
    assert.equal(cond(s, "Ready")?.status, "True");
    assert.equal(cond(s, "Ready")?.reason, "Succeeded");
    assert.equal(cond(s, "Ready")?.observedGeneration, 3);
    assert.match(cond(s, "Ready")!.message, /^index with 2 charts \(sha256:aaaaaaaaaaaa…\)$/);
  });

  it("the same index digest keeps the index as it was (its first-read time)", () => {
    const index = { digest: DIGEST, charts: 1, lastUpdateTime: EARLIER };
    const s = repositoryRead({ index }, { kind: "index", digest: DIGEST, charts: 1 }, stamp);
    assert.equal(s.index, index);
    assert.match(cond(s, "Ready")!.message, /^index with 1 chart \(/);
  });

  it("a registry: no index, Ready with the registry's message", () => {
    const s = repositoryRead({ index: { digest: DIGEST, charts: 1, lastUpdateTime: EARLIER } }, { kind: "registry", message: "OCI registry r.example answers" }, stamp);
    assert.equal(s.index, undefined);
    assert.equal(cond(s, "Ready")?.message, "OCI registry r.example answers");
  });
});

describe("repositoryFailed", () => {
  it("Ready=False and FetchFailed with the reason; the last index stays", () => {
    const index = { digest: DIGEST, charts: 1, lastUpdateTime: EARLIER };
    const s: HelmRepositoryStatus = repositoryFailed({ index }, failing, stamp);
    assert.equal(s.index, index);
    assert.deepEqual(types(s), ["FetchFailed", "Ready"]);
    for (const t of ["Ready", "FetchFailed"]) {
      assert.equal(cond(s, t)?.reason, "RepositoryUnreachable");
      assert.equal(cond(s, t)?.message, "connection refused");
      assert.equal(cond(s, t)?.observedGeneration, 3);
    }
    assert.equal(cond(s, "Ready")?.status, "False");
    assert.equal(cond(s, "FetchFailed")?.status, "True");
  });
});

describe("chartFetched", () => {
  const stored = { artifact: { ...artifact, revision: "1.1.0", digest: OTHER }, chartName: "demo" };
  const build = { observedSourceArtifactRevision: "main@sha1:0123", observedSourceArtifactDigest: DIGEST, dependencies: [] };
  const table: { name: string; start: HelmChartStatus; fetched: Parameters<typeof chartFetched>[1]; revision: string; git: boolean }[] = [
    { name: "nothing new: the last chart stays", start: { artifact, chartName: "demo" }, fetched: { message: "stored chart demo version 1.0.0" }, revision: "1.0.0", git: false },
    { name: "a chart stored now replaces it", start: { artifact, chartName: "demo", conditions: failedBefore }, fetched: { message: "m", stored }, revision: "1.1.0", git: false },
    { name: "a chart built from Git records what it was built from", start: { artifact, chartName: "demo" }, fetched: { message: "m", stored, git: build }, revision: "1.1.0", git: true },
  ];
  for (const t of table) {
    it(t.name, () => {
      const s = chartFetched(t.start, t.fetched, stamp);
      assert.equal(s.artifact?.revision, t.revision);
      assert.equal(s.observedSourceArtifactRevision, t.git ? "main@sha1:0123" : undefined);
      assert.deepEqual(types(s), ["ArtifactInStorage", "Ready"]);
      assert.equal(cond(s, "Ready")?.status, "True");
      assert.equal(cond(s, "Ready")?.message, t.fetched.message);
      assert.equal(cond(s, "ArtifactInStorage")?.status, "True");
      assert.equal(cond(s, "ArtifactInStorage")?.message, `chart version ${t.revision} is stored`);
    });
  }
});

describe("chartFailed", () => {
  it("with the last good chart stored: ArtifactInStorage=True names it; the artifact stays", () => {
    const s = chartFailed({ artifact, chartName: "demo" }, failing, true, stamp);
    assert.equal(s.artifact, artifact);
    assert.equal(cond(s, "Ready")?.status, "False");
    assert.equal(cond(s, "FetchFailed")?.reason, "RepositoryUnreachable");
    assert.equal(cond(s, "ArtifactInStorage")?.status, "True");
    assert.equal(cond(s, "ArtifactInStorage")?.message, "the last good chart (version 1.0.0) is still stored");
  });

  it("with none stored: ArtifactInStorage=False (NoArtifact)", () => {
    const s = chartFailed({}, failing, false, stamp);
    assert.equal(cond(s, "ArtifactInStorage")?.status, "False");
    assert.equal(cond(s, "ArtifactInStorage")?.reason, "NoArtifact");
  });

  it("the same failure again keeps its transition time (a status that does not change is not written)", () => {
    const s = chartFailed({ conditions: failedBefore }, failing, false, stamp);
    assert.equal(cond(s, "FetchFailed")?.lastTransitionTime, EARLIER);
    assert.equal(cond(s, "Ready")?.lastTransitionTime, EARLIER);
  });
});

describe("gitMessage", () => {
  it("names the chart, version, revision and the dependencies downloaded", () => {
    assert.equal(gitMessage("shop", "1.0.0+0123456789ab", "main@sha1:0123456789abcdef", []), "stored chart shop version 1.0.0+0123456789ab built from main@sha1:0123456789abcdef");
    assert.match(
      gitMessage("shop", "1.0.0", "main@sha1:0", [{ name: "redis", version: "17.0.0", repository: "https://charts.example", helmRepository: "bitnami", digest: DIGEST }]),
      /; dependencies downloaded and verified: redis 17\.0\.0 from bitnami$/,
    );
  });
});

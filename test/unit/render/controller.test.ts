// The render controller's pure helpers (src/render/controller.ts): indexes, owned status, the artifact sweep and
// the event predicates.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  applicationEvents,
  dataChanged,
  gitRepositoryArtifactChanged,
  inputIndexKeys,
  ownedStatus,
  sameOwnedStatus,
  sourceIndexKeys,
  sweepOrphans,
} from "../../../src/render/controller.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { admits, type KubeObject } from "../../../src/runtime/index.js";

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-render-controller-"));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});
let n = 0;
const fresh = () => path.join(tmp, `x${++n}`);

void describe("render controller helpers", () => {
  const app = {
    apiVersion: "delivery.mooring.dev/v1alpha1",
    kind: "Application",
    metadata: { name: "a", namespace: "ns" },
    spec: {
      sourceRef: { kind: "GitRepository", name: "repo" },
      render: {
        helm: { valuesFrom: [{ kind: "ConfigMap", name: "v" }, { kind: "Secret", name: "s" }] },
        substituteFrom: [{ kind: "ConfigMap", name: "v" }, { kind: "ConfigMap", name: "vars" }],
      },
    },
  } as never;

  void it("indexes Applications by source and by the ConfigMaps/Secrets they read", () => {
    assert.deepEqual(sourceIndexKeys(app), ["ns/repo"]);
    assert.deepEqual(sourceIndexKeys({ ...(app as object), spec: { sourceRef: { kind: "GitRepository", name: "r", namespace: "other" } } } as never), ["other/r"]);
    assert.deepEqual(inputIndexKeys(app), ["ConfigMap/ns/v", "Secret/ns/s", "ConfigMap/ns/vars"]);
  });

  void it("owns only status.source, status.render and the SourceReady/Rendered conditions", () => {
    const c = (type: string, status = "True") => ({ type, status, reason: "R", message: "m", lastTransitionTime: "2024-01-01T00:00:00Z" });
    const status = { observedGeneration: 2, source: { revision: "r" }, sync: { status: "Synced" }, conditions: [c("Ready"), c("Rendered"), c("SourceReady"), c("Synced")] };
    const owned = ownedStatus(status as never);
    assert.deepEqual(Object.keys(owned).sort(), ["conditions", "source"]);
    assert.deepEqual(owned.conditions!.map((x) => x.type), ["Rendered", "SourceReady"]);
    assert.ok(sameOwnedStatus(owned, { source: { revision: "r" }, conditions: [c("SourceReady"), c("Rendered")] as never }), "condition order does not matter");
    assert.ok(!sameOwnedStatus(owned, { source: { revision: "r" }, conditions: [c("SourceReady"), c("Rendered", "False")] as never }));
    assert.ok(!sameOwnedStatus(owned, { source: { revision: "s" }, conditions: owned.conditions }));
  });

  void it("sweeps the artifacts of Applications that are gone, and only those", async () => {
    const storage = new ArtifactStorage({ root: fresh() });
    await storage.init();
    const bytes = async function* () {
      yield Buffer.from("[]");
    };
    for (const [ns, name] of [["a", "kept"], ["a", "gone"], ["b", "unknown"]] as const) await storage.write({ kind: "Application", namespace: ns, name }, bytes(), ".json");
    await storage.write({ kind: "GitRepository", namespace: "a", name: "gone" }, bytes());
    const removed = await sweepOrphans(
      storage,
      async (ns, name) => {
        if (ns === "b") throw new Error("not in the cache");
        return name === "kept";
      },
      (ns, name) => storage.remove({ kind: "Application", namespace: ns, name }),
    );
    assert.deepEqual(removed, ["a/gone"]);
    assert.equal((await storage.list({ kind: "Application", namespace: "a", name: "kept" })).length, 1);
    assert.equal((await storage.list({ kind: "Application", namespace: "b", name: "unknown" })).length, 1);
    assert.equal((await storage.list({ kind: "GitRepository", namespace: "a", name: "gone" })).length, 1, "other kinds are not ours");
  });

  void it("filters events: Application spec or reconcile request, GitRepository artifact, ConfigMap data", () => {
    const o = (x: object) => x as KubeObject;
    assert.equal(admits(applicationEvents, "update", o({ metadata: { generation: 1 } }), o({ metadata: { generation: 1 } })), false, "status-only write");
    assert.equal(admits(applicationEvents, "update", o({ metadata: { generation: 2 } }), o({ metadata: { generation: 1 } })), true);
    assert.equal(
      admits(applicationEvents, "update", o({ metadata: { generation: 1, annotations: { "mooring.dev/reconcile-requested-at": "2" } } }), o({ metadata: { generation: 1 } })),
      true,
    );
    const repo = (digest: string, ready: string) => o({ status: { artifact: { url: "u", digest }, conditions: [{ type: "Ready", status: ready }] } });
    assert.equal(admits(gitRepositoryArtifactChanged as never, "update", repo("a", "False"), repo("a", "True")), false);
    assert.equal(admits(gitRepositoryArtifactChanged as never, "update", repo("b", "True"), repo("a", "True")), true);
    assert.equal(admits(dataChanged as never, "update", o({ data: { a: "1" }, metadata: { labels: { x: "1" } } }), o({ data: { a: "1" } })), false);
    assert.equal(admits(dataChanged as never, "update", o({ data: { a: "2" } }), o({ data: { a: "1" } })), true);
  });
});

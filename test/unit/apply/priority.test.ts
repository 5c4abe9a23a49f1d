// The apply controller's queue priority for Application events (src/apply/priority.ts): bookkeeping updates (the
// render controller's status of a revision that changed nothing, the controller's own writes) go behind real work.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applicationPriority } from "../../../src/apply/priority.js";
import { Priority } from "../../../src/runtime/index.js";

const app = (o: { generation?: number; digest?: string; revision?: string; annotations?: Record<string, string>; deleting?: boolean } = {}) => ({
  apiVersion: "delivery.mooring.dev/v1alpha1",
  kind: "Application",
  metadata: { name: "a", namespace: "team", generation: o.generation ?? 1, annotations: o.annotations, ...(o.deleting ? { deletionTimestamp: "2026-12-06T00:00:00Z" } : {}) },
  spec: { sourceRef: { kind: "GitRepository", name: "src" } },
  status: { render: { artifact: { url: "http://r/a.tar.gz", digest: o.digest ?? "sha256:1", revision: o.revision ?? "main@sha1:1" } } },
});

void describe("applicationPriority", () => {
  const table: [string, ReturnType<typeof app> | undefined, ReturnType<typeof app>, number][] = [
    ["a new revision rendering the same objects", app({ revision: "main@sha1:1" }), app({ revision: "main@sha1:2" }), Priority.low],
    ["a status write that changes nothing applied", app(), app(), Priority.low],
    ["a new rendered digest", app({ digest: "sha256:1" }), app({ digest: "sha256:2" }), Priority.normal],
    ["a spec change (generation)", app({ generation: 1 }), app({ generation: 2 }), Priority.normal],
    ["a sync or rollback asked for (annotation)", app(), app({ annotations: { "delivery.mooring.dev/sync-requested-at": "now" } }), Priority.normal],
    ["deletion", app(), app({ deleting: true }), Priority.normal],
  ];
  for (const [name, old, obj, want] of table) {
    void it(`update: ${name}`, () => assert.equal(applicationPriority("update", obj as never, old as never), want));
  }
  void it("create and delete are normal", () => {
    assert.equal(applicationPriority("create", app() as never), Priority.normal);
    assert.equal(applicationPriority("delete", app() as never), Priority.normal);
  });
});

// The Mooring kinds' descriptors (src/api/kinds.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApplicationKind, GitRepositoryKind, MOORING_KINDS, mooringKindOf } from "../../../src/api/kinds.js";

describe("Mooring kinds", () => {
  it("finds a kind by its exact apiVersion and kind, and nothing else", () => {
    assert.equal(mooringKindOf("delivery.mooring.dev/v1alpha1", "Application"), ApplicationKind);
    assert.equal(mooringKindOf("source.mooring.dev/v1alpha1", "GitRepository"), GitRepositoryKind);
    assert.equal(mooringKindOf("source.mooring.dev/v1alpha1", "Application"), undefined);
    assert.equal(mooringKindOf("delivery.mooring.dev/v1", "Application"), undefined);
    assert.equal(mooringKindOf(undefined, undefined), undefined);
  });

  it("lists seven namespaced kinds with distinct plurals", () => {
    assert.equal(MOORING_KINDS.length, 7);
    assert.ok(MOORING_KINDS.every((k) => k.namespaced));
    assert.equal(new Set(MOORING_KINDS.map((k) => `${k.group}/${k.plural}`)).size, 7);
  });
});

// The Applications page's filters (src/ui/filters.ts): the query string they come from, label selectors (equality,
// inequality, existence, absence) and the search box, on rows built by the page's own appSummary.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { filtersFrom, labelMatches, matches, type Filters } from "../../../src/ui/filters.js";
import { appSummary } from "../../../src/ui/views.js";

const SHA = "c".repeat(40);
const row = appSummary({
  apiVersion: "delivery.mooring.dev/v1alpha1",
  kind: "Application",
  metadata: { namespace: "team-a", name: "web", labels: { team: "a", tier: "web", empty: "" } },
  spec: { sourceRef: { kind: "GitRepository", name: "apps" } },
  status: {
    sync: { status: "OutOfSync", revision: `main@sha1:${SHA}` },
    health: { status: "Degraded" },
    conditions: [{ type: "Ready", status: "False", reason: "HealthCheckFailed", message: "Deployment api: 0/2 Ready" }],
  },
} as never);
const none: Filters = { q: "", ns: "", label: "", sync: "", health: "" };

void describe("filtersFrom", () => {
  void it("reads q, ns, label, sync and health from the query string, '' for each one missing", () => {
    assert.deepEqual(filtersFrom(new URLSearchParams("q=web&ns=team-a&label=team%3Da%2Ctier&sync=Synced&health=Healthy&other=x")), { q: "web", ns: "team-a", label: "team=a,tier", sync: "Synced", health: "Healthy" });
    assert.deepEqual(filtersFrom(new URLSearchParams("")), none);
    assert.deepEqual(filtersFrom(new URLSearchParams("q=&ns=a&ns=b")), { ...none, ns: "a" }, "the first of a repeated parameter");
  });
});

void describe("labelMatches", () => {
  const labels = row.labels;
  void it("equality (= and ==), with spaces around key and value ignored", () => {
    assert.ok(labelMatches(labels, "team=a"));
    assert.ok(labelMatches(labels, "team==a"));
    assert.ok(labelMatches(labels, " team = a "));
    assert.ok(!labelMatches(labels, "team=b"));
    assert.ok(!labelMatches(labels, "owner=a"), "a missing label equals nothing");
  });

  void it("an empty value matches only a label set to ''", () => {
    assert.ok(labelMatches(labels, "empty="));
    assert.ok(!labelMatches(labels, "team="));
    assert.ok(!labelMatches(labels, "owner="));
  });

  void it("inequality holds for another value and for a missing label", () => {
    assert.ok(labelMatches(labels, "team!=b"));
    assert.ok(!labelMatches(labels, "team!=a"));
    assert.ok(labelMatches(labels, "owner!=a"));
  });

  void it("existence and absence (!key)", () => {
    assert.ok(labelMatches(labels, "tier"));
    assert.ok(labelMatches(labels, "empty"), "a label set to '' exists");
    assert.ok(!labelMatches(labels, "canary"));
    assert.ok(labelMatches(labels, "!canary"));
    assert.ok(!labelMatches(labels, "!tier"));
  });

  void it("every term must hold; empty terms and an empty selector match everything", () => {
    assert.ok(labelMatches(labels, "team=a,tier!=db,!canary"));
    assert.ok(!labelMatches(labels, "team=a,canary"));
    assert.ok(labelMatches(labels, ""));
    assert.ok(labelMatches(labels, " , ,team=a,"));
    assert.ok(labelMatches({}, "!x,y!=z"));
  });

  void it("a value may hold '=': only the first one separates it", () => {
    assert.ok(labelMatches({ expr: "a=b" }, "expr=a=b"));
    assert.ok(!labelMatches({ expr: "a" }, "expr=a=b"));
  });
});

void describe("matches", () => {
  void it("no filter keeps every row", () => {
    assert.ok(matches(row, none));
    assert.ok(matches(appSummary({ metadata: { namespace: "x", name: "bare" } }), none), "a row with nothing in its status");
  });

  void it("each of namespace, sync, health and label drops a row that differs", () => {
    assert.ok(matches(row, { ...none, ns: "team-a", sync: "OutOfSync", health: "Degraded", label: "team=a" }));
    assert.ok(!matches(row, { ...none, ns: "team-b" }));
    assert.ok(!matches(row, { ...none, ns: "team" }), "the namespace is compared whole");
    assert.ok(!matches(row, { ...none, sync: "Synced" }));
    assert.ok(!matches(row, { ...none, health: "Healthy" }));
    assert.ok(!matches(row, { ...none, label: "team=b" }));
  });

  void it("search: case-insensitive, in namespace/name, the message, the revision and label pairs", () => {
    for (const q of ["WEB", "team-a/web", "a/w", "0/2 ready", SHA.slice(0, 7), "main@sha1", "tier=web", "TEAM=A"]) assert.ok(matches(row, { ...none, q }), q);
    for (const q of ["team-b", "Healthy", "tier=db", "apps"]) assert.ok(!matches(row, { ...none, q }), q);
  });

  void it("search and the other filters must all hold", () => {
    assert.ok(!matches(row, { ...none, q: "web", health: "Healthy" }));
    assert.ok(!matches(row, { ...none, q: "nothing-like-it", health: "Degraded" }));
  });
});

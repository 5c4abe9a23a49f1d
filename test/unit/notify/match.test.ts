// Alert filtering: pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AlertSpec } from "../../../src/api/index.js";
import { matchingAlerts, selects, type AlertObject } from "../../../src/notify/match.js";
import { event } from "./fixtures.js";

const spec = (over: Partial<AlertSpec> = {}): AlertSpec => ({ providerRef: { name: "p" }, eventSources: [{ kind: "Application", name: "*" }], ...over });

void describe("selects", () => {
  void it("filters by source kind, name, '*', matchLabels, event kinds, severity and suspend", () => {
    assert.equal(selects(spec(), event(), {}), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "web" }] }), event(), {}), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "api" }] }), event(), {}), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "GitRepository", name: "*" }] }), event(), {}), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), { team: "shop", x: "y" }), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), { team: "ops" }), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), undefined), false);
    assert.equal(selects(spec({ eventKinds: ["SyncFailed"] }), event(), {}), false);
    assert.equal(selects(spec({ eventKinds: ["SyncFailed", "Synced"] }), event(), {}), true);
    assert.equal(selects(spec({ eventSeverity: "error" }), event(), {}), false);
    assert.equal(selects(spec({ eventSeverity: "error" }), event({ kind: "SyncFailed", severity: "error" }), {}), true);
    assert.equal(selects(spec({ suspend: true }), event(), {}), false);
  });

  void it("never matches an Alert of another namespace", () => {
    const alert = (ns: string): AlertObject => ({ apiVersion: "notification.mooring.dev/v1alpha1", kind: "Alert", metadata: { name: "a", namespace: ns }, spec: spec() });
    assert.deepEqual(matchingAlerts([alert("demo"), alert("other")], event(), {}).map((a) => a.metadata.namespace), ["demo"]);
  });
});

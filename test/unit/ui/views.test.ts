// The UI's views of the cluster's objects (src/ui/views.ts), the Applications page's filters
// (src/ui/filters.ts) and the trusted-proxy list (src/ui/auth.ts), on plain objects.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelMatches, matches } from "../../../src/ui/filters.js";
import { trustedProxyList } from "../../../src/ui/auth.js";
import { appSummary, dependencyViews, eventViews, policyView, sourceView, windowSegments } from "../../../src/ui/views.js";

const SHA = "a".repeat(40);
const app = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}) => ({
  apiVersion: "delivery.mooring.dev/v1alpha1",
  kind: "Application",
  metadata: { namespace: "team-a", name: "web", labels, resourceVersion: "7" },
  spec: { sourceRef: { kind: "GitRepository", name: "apps" }, ...spec },
  status,
});

describe("appSummary", () => {
  it("reads sync, health, revision, last sync and the Ready message from the status the controllers write", () => {
    const s = appSummary(
      app({
        sync: { status: "Synced", revision: `main@sha1:${SHA}`, lastAppliedAt: "2026-01-01T00:00:00Z" },
        source: { revision: `main@sha1:${"b".repeat(40)}` },
        health: { status: "Healthy" },
        history: [{ revision: `main@sha1:${SHA}`, phase: "Succeeded", initiatedBy: "auto", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:05Z", message: "applied 2\nobjects" }],
        conditions: [{ type: "Ready", status: "True", reason: "Succeeded", message: "synced and healthy" }],
      }),
    );
    assert.equal(s.key, "team-a/web");
    assert.equal(s.sync, "Synced");
    assert.equal(s.health, "Healthy");
    assert.equal(s.ready, "True");
    assert.equal(s.revision, `main@sha1:${SHA}`);
    assert.equal(s.renderedRevision, `main@sha1:${"b".repeat(40)}`);
    assert.equal(s.lastSyncAt, "2026-01-01T00:00:05Z", "the history's finish time wins over lastAppliedAt");
    assert.equal(s.lastSyncMessage, "applied 2 objects", "messages are one line in rows");
    assert.equal(s.source, "GitRepository/apps");
  });

  it("falls back to the Synced condition, says Unknown for what it cannot read, and puts Stalled and suspended first", () => {
    const s = appSummary(
      app(
        {
          health: { status: "Bogus" },
          conditions: [
            { type: "Synced", status: "False", reason: "Failed", message: "x" },
            { type: "Ready", status: "False", reason: "Failed", message: "ready says" },
            { type: "Stalled", status: "True", reason: "InvalidSpec", message: "stalled says" },
          ],
        },
        { suspend: true },
      ),
    );
    assert.equal(s.sync, "OutOfSync");
    assert.equal(s.health, "Unknown");
    assert.equal(s.message, "suspended; stalled says");
    assert.equal(s.stalled, true);
    assert.equal(s.suspended, true);
    const empty = appSummary({ metadata: { name: "n", namespace: "x" } });
    assert.equal(empty.sync, "Unknown");
    assert.equal(empty.ready, "Unknown");
    assert.equal(empty.lastSyncAt, "");
  });
});

describe("filters of the Applications page", () => {
  const s = appSummary(app({ health: { status: "Degraded" }, sync: { status: "OutOfSync" } }, {}, { team: "a", tier: "web" }));
  it("match labels by equality, inequality and existence", () => {
    assert.ok(labelMatches(s.labels, "team=a"));
    assert.ok(labelMatches(s.labels, "team==a,tier"));
    assert.ok(!labelMatches(s.labels, "team=b"));
    assert.ok(labelMatches(s.labels, "team!=b"));
    assert.ok(!labelMatches(s.labels, "tier!=web"));
    assert.ok(labelMatches(s.labels, "!canary"));
    assert.ok(!labelMatches(s.labels, "canary"));
  });
  it("combine namespace, state, labels and search", () => {
    const f = { q: "", ns: "", label: "", sync: "", health: "" };
    assert.ok(matches(s, f));
    assert.ok(matches(s, { ...f, ns: "team-a", sync: "OutOfSync", health: "Degraded", label: "team=a", q: "WEB" }));
    assert.ok(!matches(s, { ...f, ns: "team-b" }));
    assert.ok(!matches(s, { ...f, health: "Healthy" }));
    assert.ok(!matches(s, { ...f, q: "nothing-like-it" }));
  });
});

describe("sources, events, dependencies", () => {
  it("a GitRepository shows its ref, revision, last fetch and the failure message over Ready's", () => {
    const v = sourceView(
      "GitRepository",
      {
        metadata: { namespace: "ns", name: "apps" },
        spec: { url: "https://git.example/apps.git", ref: { tag: "v1" } },
        status: { artifact: { revision: `v1@sha1:${SHA}`, digest: "sha256:" + "c".repeat(64), lastUpdateTime: "2026-01-01T00:00:00Z" }, conditions: [{ type: "Ready", status: "False", message: "r" }, { type: "FetchFailed", status: "True", message: "auth failed" }] },
      },
      ["web"],
    );
    assert.equal(v.key, "GitRepository/ns/apps");
    assert.equal(v.ref, "tag v1");
    assert.equal(v.ready, "False");
    assert.equal(v.message, "auth failed");
    assert.equal(v.lastFetch, "2026-01-01T00:00:00Z");
    assert.deepEqual(v.applications, ["web"]);
  });
  it("events are newest first, with series counts", () => {
    const e = eventViews([
      { metadata: { name: "a" }, type: "Normal", reason: "Old", message: "m1", lastTimestamp: "2026-01-01T00:00:00Z", count: 2 },
      { metadata: { name: "b" }, type: "Warning", reason: "New", note: "m2", eventTime: "2026-01-02T00:00:00Z", series: { count: 5 } } as never,
    ]);
    assert.deepEqual(
      e.map((x) => [x.reason, x.count, x.message]),
      [
        ["New", 5, "m2"],
        ["Old", 2, "m1"],
      ],
    );
  });
  it("dependencies name missing Applications", () => {
    const d = dependencyViews(app({}, { dependsOn: [{ name: "db" }, { name: "gone", namespace: "other" }] }), (k) => (k === "team-a/db" ? { metadata: { name: "db" }, status: { conditions: [{ type: "Ready", status: "True", message: "ok" }] } } : undefined));
    assert.deepEqual(
      d.map((x) => [x.key, x.exists, x.ready]),
      [
        ["team-a/db", true, "True"],
        ["other/gone", false, "Unknown"],
      ],
    );
  });
});

describe("sync windows on a timeline", () => {
  const t0 = Date.parse("2026-03-02T00:00:00Z"); // a Monday
  it("a daily two-hour window opens seven times in seven days, each two hours long", () => {
    const segs = windowSegments([{ kind: "deny", schedule: "0 22 * * *", duration: "2h" }], t0);
    assert.equal(segs.length, 7);
    for (const s of segs) assert.equal(Date.parse(s.end) - Date.parse(s.start), 2 * 3_600_000);
    assert.equal(segs[0]!.start, "2026-03-02T22:00:00.000Z");
  });
  it("a window open now starts at the timeline's left edge", () => {
    const segs = windowSegments([{ kind: "allow", schedule: "0 23 * * *", duration: "2h" }], t0);
    assert.equal(segs[0]!.start, new Date(t0).toISOString());
    assert.equal(segs[0]!.end, "2026-03-02T01:00:00.000Z");
  });
  it("policyView says what is allowed now and reports windows it cannot evaluate instead of throwing", () => {
    const ok = policyView({ metadata: { namespace: "n", name: "p" }, spec: { automated: { enabled: false }, windows: [{ kind: "deny", schedule: "* * * * *", duration: "1h" }] } }, 3, t0);
    assert.equal(ok.automated, false);
    assert.equal(ok.automatedAllowed, false);
    assert.equal(ok.applications, 3);
    assert.equal(ok.error, "");
    const bad = policyView({ metadata: { namespace: "n", name: "bad" }, spec: { windows: [{ kind: "deny", schedule: "not cron", duration: "1h" }] } }, 0, t0);
    assert.match(bad.error, /cannot be evaluated/);
  });
});

describe("trusted proxies", () => {
  it("accepts addresses and CIDRs of both families and refuses what is not one, naming it", () => {
    const l = trustedProxyList(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);
    assert.ok(l.check("127.0.0.1", "ipv4"));
    assert.ok(l.check("10.1.2.3", "ipv4"));
    assert.ok(!l.check("11.0.0.1", "ipv4"));
    assert.ok(l.check("fd00::1", "ipv6"));
    assert.throws(() => trustedProxyList(["example.com"]), /"example.com" is not an IP address or CIDR/);
    assert.throws(() => trustedProxyList(["10.0.0.0/33"]), /invalid prefix length/);
  });
});

// The render controller's status as a pure function (src/render/outcome.ts), no cluster: each outcome of a reconcile
// → the owned status part (status.source, status.render, SourceReady and Rendered), the event and when to look again;
// and each typed error a step throws → its outcome.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidObjectError } from "../../../src/api/index.js";
import { RenderError } from "../../../src/render/errors.js";
import {
  InputError,
  RetryError,
  SourceError,
  outcomeOf,
  renderStatus,
  sameOwnedStatus,
  type OwnedStatus,
  type RenderOutcome,
} from "../../../src/render/outcome.js";
import type { Condition } from "../../../src/runtime/index.js";

const T0 = "2026-01-01T00:00:00Z";
const NOW = Date.parse("2026-02-01T00:00:00Z");
const NOW_TIME = "2026-02-01T00:00:00Z";
const GEN = 3;
const src = { revision: "main@sha1:bbb", digest: "sha256:src2" };
const render = { url: "http://a/application/ns/app/x.json", digest: "sha256:out2", size: 20, objects: 2, type: "plain", path: "./deploy" };

const c = (type: string, status: string, reason: string, message: string, lastTransitionTime = T0, observedGeneration = GEN): Condition =>
  ({ type, status, reason, message, lastTransitionTime, observedGeneration }) as Condition;

/** A status after a good render of an older revision. */
const rendered: OwnedStatus = {
  source: { revision: "main@sha1:aaa", digest: "sha256:src1" },
  render: { artifact: { url: "http://a/application/ns/app/old.json", digest: "sha256:out1", revision: "main@sha1:aaa", size: 10 }, objects: 1, lastRenderedAt: T0 },
  conditions: [
    c("SourceReady", "True", "Succeeded", "artifact for revision 'main@sha1:aaa' (sha256:src1)"),
    c("Rendered", "True", "Succeeded", "rendered 1 objects (plain) from './deploy' at revision 'main@sha1:aaa'"),
  ],
};

const cond = (s: OwnedStatus, type: string) => s.conditions?.find((x) => x.type === type);

interface Row {
  name: string;
  current: OwnedStatus;
  outcome: RenderOutcome;
  /** Expected conditions (type → [status, reason, message?, lastTransitionTime?]); absent types: unchanged from current. */
  conditions: Record<string, [string, string, (string | RegExp)?, string?]>;
  event?: [string, string, RegExp?];
  recheck: string;
  /** status.source/render: "kept" (as current), "new" (the outcome's), "none". */
  artifact: "kept" | "new" | "none";
}

const rows: Row[] = [
  {
    name: "invalid spec: Rendered=False InvalidSpec, only a spec change helps",
    current: {},
    outcome: { kind: "invalidSpec", message: "Application ns/app is invalid: spec.path: bad" },
    conditions: { Rendered: ["False", "InvalidSpec", "Application ns/app is invalid: spec.path: bad", NOW_TIME] },
    recheck: "onChange",
    artifact: "none",
  },
  {
    name: "cross-namespace source refused: SourceReady=False, no requeue",
    current: rendered,
    outcome: { kind: "noSource", reason: "CrossNamespaceRefForbidden", message: "refused", recheck: { kind: "onChange" } },
    conditions: { SourceReady: ["False", "CrossNamespaceRefForbidden", "refused", NOW_TIME], Rendered: ["True", "Succeeded", undefined, T0] },
    recheck: "onChange",
    artifact: "kept",
  },
  {
    name: "no artifact yet: SourceReady=False SourceNotReady, looked at within a minute",
    current: {},
    outcome: { kind: "noSource", reason: "SourceNotReady", message: "no artifact", recheck: { kind: "interval", capMs: 60_000 } },
    conditions: { SourceReady: ["False", "SourceNotReady", "no artifact"] },
    recheck: "interval:60000",
    artifact: "none",
  },
  {
    name: "a missing values ConfigMap: Rendered=False ValuesNotFound, SourceReady=True, the last artifact kept, a Warning",
    current: rendered,
    outcome: { kind: "inputsFailed", source: src, reason: "ValuesNotFound", message: "ConfigMap ns/v does not exist" },
    conditions: { SourceReady: ["True", "Succeeded", "artifact for revision 'main@sha1:bbb' (sha256:src2)", T0], Rendered: ["False", "ValuesNotFound", "ConfigMap ns/v does not exist", NOW_TIME] },
    event: ["Warning", "ValuesNotFound", /ConfigMap ns\/v/],
    recheck: "interval",
    artifact: "kept",
  },
  {
    name: "the same missing input again: no second event",
    current: { ...rendered, conditions: [rendered.conditions![0]!, c("Rendered", "False", "ValuesNotFound", "ConfigMap ns/v does not exist")] },
    outcome: { kind: "inputsFailed", source: { revision: "main@sha1:aaa", digest: "sha256:src1" }, reason: "ValuesNotFound", message: "ConfigMap ns/v does not exist" },
    conditions: { Rendered: ["False", "ValuesNotFound", undefined, T0] },
    recheck: "interval",
    artifact: "kept",
  },
  {
    name: "a fresh render of a new revision: source and render move, Rendered=True, a Normal event",
    current: rendered,
    outcome: { kind: "rendered", source: src, render, fresh: true },
    conditions: { SourceReady: ["True", "Succeeded", /main@sha1:bbb/, T0], Rendered: ["True", "Succeeded", "rendered 2 objects (plain) from './deploy' at revision 'main@sha1:bbb'", T0] },
    event: ["Normal", "Rendered", /^rendered 2 objects from revision main@sha1:bbb \(sha256:out2\)$/],
    recheck: "interval",
    artifact: "new",
  },
  {
    name: "a render failure: the last artifact stays, Rendered=False RenderFailed, a Warning",
    current: rendered,
    outcome: { kind: "renderFailed", source: src, reason: "RenderFailed", message: "plain/bad.yaml:4: bad", fresh: true },
    conditions: { SourceReady: ["True", "Succeeded", /main@sha1:bbb/], Rendered: ["False", "RenderFailed", "plain/bad.yaml:4: bad", NOW_TIME] },
    event: ["Warning", "RenderFailed", /bad\.yaml:4/],
    recheck: "interval",
    artifact: "kept",
  },
  {
    name: "a remembered render failure: no event",
    current: rendered,
    outcome: { kind: "renderFailed", source: src, reason: "RenderFailed", message: "plain/bad.yaml:4: bad", fresh: false },
    conditions: { SourceReady: ["True", "Succeeded", /main@sha1:bbb/, T0], Rendered: ["False", "RenderFailed"] },
    recheck: "interval",
    artifact: "kept",
  },
  {
    name: "an artifact that cannot be extracted is the source's failure: SourceReady=False ArtifactInvalid, its time kept when it already was",
    current: { ...rendered, conditions: [c("SourceReady", "False", "ArtifactInvalid", "unsafe entry ../x"), rendered.conditions![1]!] },
    outcome: { kind: "renderFailed", source: src, reason: "ArtifactInvalid", message: "unsafe entry ../x", fresh: false },
    conditions: { SourceReady: ["False", "ArtifactInvalid", "unsafe entry ../x", T0], Rendered: ["True", "Succeeded", undefined, T0] },
    recheck: "interval",
    artifact: "kept",
  },
  {
    name: "a full disk: Rendered=False StorageOperationFailed, retried with backoff, a Warning",
    current: rendered,
    outcome: { kind: "retry", source: src, condition: "Rendered", reason: "StorageOperationFailed", message: "ENOSPC" },
    conditions: { SourceReady: ["True", "Succeeded", /main@sha1:bbb/], Rendered: ["False", "StorageOperationFailed", "ENOSPC", NOW_TIME] },
    event: ["Warning", "StorageOperationFailed", /ENOSPC/],
    recheck: "backoff",
    artifact: "kept",
  },
  {
    name: "the artifact server unreachable again: SourceReady=False ArtifactFetchFailed keeps its time, no event, backoff",
    current: { ...rendered, conditions: [c("SourceReady", "False", "ArtifactFetchFailed", "connection refused"), rendered.conditions![1]!] },
    outcome: { kind: "retry", source: src, condition: "SourceReady", reason: "ArtifactFetchFailed", message: "connection refused" },
    conditions: { SourceReady: ["False", "ArtifactFetchFailed", "connection refused", T0], Rendered: ["True", "Succeeded", undefined, T0] },
    recheck: "backoff",
    artifact: "kept",
  },
];

void describe("render status from an outcome", () => {
  for (const row of rows) {
    void it(row.name, () => {
      const { status, event, recheck } = renderStatus(row.current, row.outcome, { generation: GEN, now: NOW });
      for (const [type, [st, reason, message, time]] of Object.entries(row.conditions)) {
        const got = cond(status, type);
        assert.ok(got, `condition ${type} present`);
        assert.equal(got.status, st, `${type}.status`);
        assert.equal(got.reason, reason, `${type}.reason`);
        assert.equal(got.observedGeneration, GEN, `${type}.observedGeneration`);
        if (typeof message === "string") assert.equal(got.message, message, `${type}.message`);
        else if (message) assert.match(got.message, message, `${type}.message`);
        if (time) assert.equal(got.lastTransitionTime, time, `${type}.lastTransitionTime`);
      }
      for (const before of row.current.conditions ?? []) {
        if (!(before.type in row.conditions)) assert.deepEqual(cond(status, before.type), before, `${before.type} untouched`);
      }
      assert.deepEqual(status.conditions?.map((x) => x.type).filter((t) => t !== "SourceReady" && t !== "Rendered"), [], "only SourceReady and Rendered");
      if (row.event) {
        assert.ok(event, "an event");
        assert.equal(event.type, row.event[0]);
        assert.equal(event.reason, row.event[1]);
        if (row.event[2]) assert.match(event.message, row.event[2]);
      } else assert.equal(event, undefined, "no event");
      assert.equal(recheck.kind === "interval" && recheck.capMs !== undefined ? `interval:${recheck.capMs}` : recheck.kind, row.recheck);
      if (row.artifact === "none") {
        assert.equal(status.source, undefined);
        assert.equal(status.render, undefined);
      } else if (row.artifact === "kept") {
        assert.deepEqual(status.source, row.current.source);
        assert.deepEqual(status.render, row.current.render);
      } else {
        assert.deepEqual(status.source, { revision: src.revision, digest: src.digest });
        assert.deepEqual(status.render, { artifact: { url: render.url, digest: render.digest, revision: src.revision, size: render.size }, objects: 2, lastRenderedAt: NOW_TIME });
      }
    });
  }

  void it("an unchanged render answered from memory changes nothing: no write (equal status), no event", () => {
    const first = renderStatus(rendered, { kind: "rendered", source: src, render, fresh: true }, { generation: GEN, now: NOW });
    const again = renderStatus(first.status, { kind: "rendered", source: src, render, fresh: false }, { generation: GEN, now: NOW + 60_000 });
    assert.ok(sameOwnedStatus(again.status, first.status), "the same status: the StatusWriter skips it");
    assert.equal(again.status.render?.lastRenderedAt, NOW_TIME, "lastRenderedAt moves only with the artifact");
    assert.equal(again.event, undefined);
    const rerendered = renderStatus(first.status, { kind: "rendered", source: src, render, fresh: true }, { generation: GEN, now: NOW + 60_000 });
    assert.equal(rerendered.event, undefined, "a render that produced the same artifact is no news");
  });

  void it("a new generation moves observedGeneration, not lastTransitionTime", () => {
    const { status } = renderStatus(rendered, { kind: "rendered", source: { revision: "main@sha1:aaa", digest: "sha256:src1" }, render: { ...render, digest: "sha256:out1", url: rendered.render!.artifact!.url, size: 10, objects: 1 }, fresh: false }, { generation: GEN + 1, now: NOW });
    assert.equal(cond(status, "Rendered")?.observedGeneration, GEN + 1);
    assert.equal(cond(status, "Rendered")?.lastTransitionTime, T0);
    assert.deepEqual(status.render, rendered.render);
  });

  void it("suspended: the status as it is, looked at again only on a change", () => {
    const out = renderStatus(rendered, { kind: "suspended" }, { generation: GEN + 1, now: NOW });
    assert.equal(out.status, rendered);
    assert.equal(out.event, undefined);
    assert.equal(out.recheck.kind, "onChange");
  });
});

void describe("the outcome a step's error stands for", () => {
  const source = { revision: "r", digest: "d" };
  const table: [string, unknown, typeof source | undefined, Partial<RenderOutcome> | undefined][] = [
    ["InvalidObjectError → invalidSpec", new InvalidObjectError("Application ns/a", [{ field: "spec.path", message: "bad" }] as never), undefined, { kind: "invalidSpec", message: "Application ns/a is invalid: spec.path: bad" }],
    ["SourceError → noSource with its recheck", new SourceError("SourceNotFound", "gone", { kind: "interval" }), undefined, { kind: "noSource", reason: "SourceNotFound", message: "gone", recheck: { kind: "interval" } }],
    ["InputError → inputsFailed ValuesNotFound", new InputError("no key"), source, { kind: "inputsFailed", source, reason: "ValuesNotFound", message: "no key" }],
    ["RenderError of a values document → inputsFailed RenderFailed", new RenderError("bad yaml", { file: "v" }), source, { kind: "inputsFailed", source, reason: "RenderFailed", message: "v: bad yaml" }],
    ["RetryError → retry in its condition", new RetryError("SourceReady", "ArtifactFetchFailed", "refused"), source, { kind: "retry", source, condition: "SourceReady", reason: "ArtifactFetchFailed", message: "refused" }],
    ["RetryError before the source → retry without it", new RetryError("Rendered", "RenderFailed", "x"), undefined, { kind: "retry", condition: "Rendered", reason: "RenderFailed", message: "x" }],
    ["an API error → none of ours (rethrown, status kept)", new Error("connection reset"), source, undefined],
    ["an abort → none of ours", new DOMException("aborted", "AbortError"), source, undefined],
  ];
  for (const [name, err, s, want] of table) {
    void it(name, () => {
      assert.deepEqual(outcomeOf(err, s), want);
    });
  }
});

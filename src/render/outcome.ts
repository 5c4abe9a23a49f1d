// How a render reconcile ended, and the one place that says it in status. Each step of the controller returns a
// result or throws one of the typed errors below; outcomeOf() maps an error to a RenderOutcome once, and
// renderStatus() — pure — turns the outcome into the part of Application status this controller owns
// (status.source, status.render, the SourceReady and Rendered conditions), the event to record and when to look
// again. The controller (./controller.ts) writes that part once, as mooring-render.
import { ConditionTypes, InvalidObjectError, Reasons, type ApplicationStatus, type CommitMetadata } from "../api/index.js";
import { canonicalStatus } from "../runtime/status.js";
import { metaTime, setCondition, type Condition } from "../runtime/conditions.js";
import { isRenderError } from "./errors.js";
import type { RenderedArtifact } from "./memo.js";

/** The part of Application status this controller owns. */
export interface OwnedStatus {
  source?: ApplicationStatus["source"];
  render?: ApplicationStatus["render"];
  conditions?: Condition[];
}

const OWNED_CONDITIONS: readonly string[] = [ConditionTypes.sourceReady, ConditionTypes.rendered];

/** The render-specific reasons (named in the API constants). */
export const RenderReasons = {
  crossNamespaceRefForbidden: Reasons.crossNamespaceRefForbidden,
  artifactFetchFailed: Reasons.artifactFetchFailed,
  artifactInvalid: Reasons.artifactInvalid,
  valuesNotFound: Reasons.valuesNotFound,
} as const;

/** The owned part of a status: status.source, status.render and our two conditions only. */
export function ownedStatus(status: ApplicationStatus | undefined): OwnedStatus {
  const s = status ?? {};
  const conditions = (s.conditions ?? []).filter((c) => OWNED_CONDITIONS.includes(c.type)) as Condition[];
  return {
    ...(s.source ? { source: s.source } : {}),
    ...(s.render ? { render: s.render } : {}),
    ...(conditions.length ? { conditions } : {}),
  };
}

/** Order-insensitive (conditions by type) comparison of two owned statuses. */
export function sameOwnedStatus(a: OwnedStatus, b: OwnedStatus): boolean {
  const norm = (s: OwnedStatus) => canonicalStatus({ source: s.source ?? null, render: s.render ?? null, conditions: s.conditions ?? [] });
  return norm(a) === norm(b);
}

/** When to look again: only on a change, after spec.interval (at most `capMs`), or with the runtime's backoff. */
export type Recheck = { kind: "onChange" } | { kind: "interval"; capMs?: number } | { kind: "backoff" };

/** The source's artifact a reconcile found (its SourceReady=True and, once rendered, status.source). */
export interface SourceArtifact {
  revision: string;
  digest: string;
  /** The commit's author, committer, message and time (GitRepository sources). */
  commit?: CommitMetadata;
}

/** A render that is stored and served (at `url`). */
export interface StoredRender extends RenderedArtifact {
  url: string;
  /** spec.path as rendered (inside the chart for a HelmChart source). */
  path: string;
}

/**
 * How a reconcile ended. `fresh`: the render ran in this reconcile (not answered from the render memory), so its
 * result is news worth an event.
 */
export type RenderOutcome =
  /** spec.suspend: nothing is done, the status stays as it is. */
  | { kind: "suspended" }
  /** The spec fails validation: Rendered=False, InvalidSpec, until the spec changes. */
  | { kind: "invalidSpec"; message: string }
  /** The source cannot be used (refused, missing, no artifact yet): SourceReady=False. */
  | { kind: "noSource"; reason: string; message: string; recheck: Recheck }
  /** A valuesFrom/substituteFrom input is missing or unreadable: Rendered=False. */
  | { kind: "inputsFailed"; source: SourceArtifact; reason: string; message: string }
  | { kind: "rendered"; source: SourceArtifact; render: StoredRender; fresh: boolean }
  /** The render failed for this input (remembered: not rendered again until the input changes). */
  | { kind: "renderFailed"; source: SourceArtifact; reason: string; message: string; fresh: boolean }
  /** A failure that is not the input's (artifact server down, full disk, worker crash): retried with backoff. */
  | { kind: "retry"; source?: SourceArtifact; condition: string; reason: string; message: string };

/** The source cannot be used: SourceReady=False with `reason`; looked at again as `recheck` says. */
export class SourceError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly recheck: Recheck,
  ) {
    super(message);
    this.name = "SourceError";
  }
}

/** An input the controller could not read: a missing ConfigMap/Secret or key (not retried until it changes). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/** A failure that is not the input's fault: reported in condition `condition`, retried with backoff, not remembered. */
export class RetryError extends Error {
  constructor(
    readonly condition: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "RetryError";
  }
}

/**
 * The outcome a step's error stands for; undefined for an error that is none of ours (an API error, an abort),
 * which the runtime retries with the status left as it is. `source`: the source artifact found before the error.
 */
export function outcomeOf(err: unknown, source?: SourceArtifact): RenderOutcome | undefined {
  if (err instanceof InvalidObjectError) return { kind: "invalidSpec", message: err.message };
  if (err instanceof SourceError) return { kind: "noSource", reason: err.reason, message: err.message, recheck: err.recheck };
  if (err instanceof RetryError) return { kind: "retry", ...(source ? { source } : {}), condition: err.condition, reason: err.reason, message: err.message };
  // Only the inputs step lets these out (the render step keeps its failures as results); both come after the source.
  if (source && err instanceof InputError) return { kind: "inputsFailed", source, reason: RenderReasons.valuesNotFound, message: err.message };
  if (source && isRenderError(err)) return { kind: "inputsFailed", source, reason: Reasons.renderFailed, message: err.message };
  return undefined;
}

/** A helm render's engine as status.render.engine spells it; undefined for other renders (and memos from before it was kept). */
function helmEngine(r: StoredRender): "go" | "handlebars" | undefined {
  return r.type === "helm" && (r.engine === "go" || r.engine === "handlebars") ? r.engine : undefined;
}

/** The renderer as the Rendered message names it: plain, kustomize, or helm with its engine ("helm, engine go"). */
export function rendererOf(r: Pick<StoredRender, "type" | "engine">): string {
  const engine = helmEngine(r as StoredRender);
  return engine ? `${r.type}, engine ${engine}` : r.type;
}

/** An event to record on the Application. */
export interface RenderEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface RenderStatus {
  /** The owned status to write (equal to `current` when nothing changed). */
  status: OwnedStatus;
  event?: RenderEvent;
  recheck: Recheck;
}

/** status.source and status.render after a render: status.render (with lastRenderedAt) moves, with an event when the
 * render is fresh, only when the artifact, its revision, the object count or the engine changed. */
function afterRender(render: OwnedStatus["render"], outcome: Extract<RenderOutcome, { kind: "rendered" }>, now: number): Pick<OwnedStatus, "source" | "render"> & { event?: RenderEvent } {
  const { source: s, render: r } = outcome;
  const artifact = { url: r.url, digest: r.digest, revision: s.revision, size: r.size, ...(s.commit ? { commit: s.commit } : {}) };
  const engine = helmEngine(r);
  const same = render?.artifact !== undefined && canonicalStatus(render.artifact) === canonicalStatus(artifact) && render.objects === r.objects && render.engine === engine;
  const source = { revision: s.revision, digest: s.digest };
  if (same) return { source, render };
  const event: RenderEvent = { type: "Normal", reason: "Rendered", message: `rendered ${r.objects} objects from revision ${s.revision} (${r.digest})` };
  return { source, render: { artifact, objects: r.objects, ...(engine ? { engine } : {}), lastRenderedAt: metaTime(now) }, ...(outcome.fresh ? { event } : {}) };
}

/**
 * The owned status after `outcome`, from `current` (what this controller last wrote, else what the object shows).
 * Conditions carry `generation` as observedGeneration; a condition that keeps its status keeps its transition time,
 * and status.render (with lastRenderedAt) changes only when the artifact or its revision does. Pure.
 */
export function renderStatus(current: OwnedStatus, outcome: RenderOutcome, stamp: { generation?: number; now: number }): RenderStatus {
  const { generation, now } = stamp;
  let conditions = current.conditions;
  const cond = (type: string, status: "True" | "False", reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status, reason, message, observedGeneration: generation }, now);
  };
  const sourceReady = (s: SourceArtifact | undefined) => {
    if (s) cond(ConditionTypes.sourceReady, "True", Reasons.succeeded, `artifact for revision '${s.revision}' (${s.digest})`);
  };
  const renderedMessage = conditions?.find((c) => c.type === ConditionTypes.rendered)?.message;
  let { source, render } = current;
  let event: RenderEvent | undefined;
  let recheck: Recheck = { kind: "interval" };
  switch (outcome.kind) {
    case "suspended":
      return { status: current, recheck: { kind: "onChange" } };
    case "invalidSpec":
      cond(ConditionTypes.rendered, "False", Reasons.invalidSpec, outcome.message);
      recheck = { kind: "onChange" }; // only a spec change can fix it, and that is an event
      break;
    case "noSource":
      cond(ConditionTypes.sourceReady, "False", outcome.reason, outcome.message);
      recheck = outcome.recheck;
      break;
    case "inputsFailed":
      sourceReady(outcome.source);
      if (renderedMessage !== outcome.message) event = { type: "Warning", reason: outcome.reason, message: outcome.message };
      cond(ConditionTypes.rendered, "False", outcome.reason, outcome.message);
      break;
    case "rendered": {
      const { source: s, render: r } = outcome;
      sourceReady(s);
      ({ source, render, event } = afterRender(render, outcome, now));
      cond(ConditionTypes.rendered, "True", Reasons.succeeded, `rendered ${r.objects} objects (${rendererOf(r)}) from '${r.path}' at revision '${s.revision}'`);
      break;
    }
    case "renderFailed": {
      // A source artifact that cannot be extracted is the source's failure, not the render's.
      const type = outcome.reason === RenderReasons.artifactInvalid ? ConditionTypes.sourceReady : ConditionTypes.rendered;
      if (type !== ConditionTypes.sourceReady) sourceReady(outcome.source);
      if (outcome.fresh) event = { type: "Warning", reason: outcome.reason, message: outcome.message };
      cond(type, "False", outcome.reason, outcome.message);
      break;
    }
    case "retry":
      // SourceReady=True only when it is not the condition that fails (a True in between would reset its time).
      if (outcome.condition !== ConditionTypes.sourceReady) sourceReady(outcome.source);
      if (outcome.condition === ConditionTypes.rendered && renderedMessage !== outcome.message) event = { type: "Warning", reason: outcome.reason, message: outcome.message };
      cond(outcome.condition, "False", outcome.reason, outcome.message);
      recheck = { kind: "backoff" };
      break;
  }
  const status: OwnedStatus = { ...(source ? { source } : {}), ...(render ? { render } : {}), ...(conditions?.length ? { conditions } : {}) };
  return { status, ...(event ? { event } : {}), recheck };
}

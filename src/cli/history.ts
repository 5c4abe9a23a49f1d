// History, rollback and resume: the commands of day-2 operations on one Application.
//   mooring history <app> [-o table|json|yaml]                      every kept sync: commit, trigger, result, changes
//   mooring rollback <app> [--to ID | --revision SHA] [--until …]   re-apply a kept render, prune, hold automation
//   mooring resume <app>                                            end a suspension and a rollback's hold
// The CLI never writes status: a rollback is asked for with the delivery.mooring.dev/rollback annotation (as a sync
// is with sync-requested-at) and the apply controller does it and reports it in status.rollback; resume removes it.
import { Annotations, ConditionTypes, type Application, type RollbackUntil } from "../api/index.js";
import { ApplicationKind } from "../api/kinds.js";
import { commitSubject } from "../apply/history.js";
import type { HistoryEntry } from "../apply/policy.js";
import type { Condition, KubeObject } from "../runtime/index.js";
import { oneLine, paint, shortRevision, table, toJson, toYaml } from "./format.js";
import { CliError, Exit, realTiming, type ExitCode, type Io, type Kube, type Timing } from "./kube.js";

type App = Application & KubeObject;
type Output = "table" | "json" | "yaml";

async function getApp(kube: Kube, name: string): Promise<App> {
  const app = await kube.client.get<App>(ApplicationKind, name, kube.namespace);
  if (!app) throw new CliError(`Application ${kube.namespace}/${name} not found; check the name and -n/--namespace`);
  return app;
}

const historyOf = (app: App) => (app.status?.history ?? []) as HistoryEntry[];
const changesText = (c: HistoryEntry["changes"]) => (c ? `+${c.created} ~${c.configured} =${c.unchanged} -${c.pruned}${c.failed ? ` !${c.failed}` : ""}` : "");
const triggerOf = (e: HistoryEntry) => e.trigger ?? (e.initiatedBy === "manual" ? "manual" : "automated");

// ---------------------------------------------------------------------------------------------------------------
// history

/** The table's rows: one per entry, newest first. */
export function historyRows(app: App): string[][] {
  const rolledTo = app.status?.rollback?.phase === "Succeeded" ? app.status.rollback.digest : undefined;
  return historyOf(app).map((e) => [
    e.id !== undefined ? String(e.id) : "-",
    e.startedAt,
    triggerOf(e),
    e.phase,
    shortRevision(e.revision),
    e.commit?.author.replace(/\s*<[^>]*>$/, "") ?? "",
    oneLine(commitSubject(e.commit?.message)).slice(0, 60),
    changesText(e.changes),
    e.url ? (rolledTo && e.digest === rolledTo ? "kept (rolled back to)" : "kept") : "-",
  ]);
}

export async function history(kube: Kube, name: string, o: { output: Output }, io: Io): Promise<ExitCode> {
  const app = await getApp(kube, name);
  const entries = historyOf(app);
  if (o.output === "json") io.out(toJson(entries));
  else if (o.output === "yaml") io.out(toYaml(entries));
  else if (entries.length === 0) io.err(`Application ${kube.namespace}/${name} has no history yet (nothing synced)`);
  else {
    io.out(table(["ID", "STARTED", "TRIGGER", "RESULT", "REVISION", "AUTHOR", "COMMIT", "CHANGES", "ARTIFACT"], historyRows(app)));
    const rb = app.status?.rollback;
    if (rb && rb.phase !== "Released") io.err(`rolled back to revision ${shortRevision(rb.revision)}${rb.id !== undefined ? ` (#${rb.id})` : ""}: automated sync is held; 'mooring resume ${name}' ends the hold`);
  }
  return Exit.ok;
}

// ---------------------------------------------------------------------------------------------------------------
// rollback

/** The revision's commit hash as written (a prefix of at least 7 hex digits matches). */
function revisionMatches(revision: string, wanted: string): boolean {
  if (revision === wanted) return true;
  const sha = /sha1:([0-9a-f]{40})$/.exec(revision)?.[1];
  const w = wanted.replace(/^.*sha1:/, "").toLowerCase();
  return sha !== undefined && /^[0-9a-f]{7,40}$/.test(w) && sha.startsWith(w);
}

const listKept = (h: HistoryEntry[]) => {
  const kept = h.filter((e) => e.phase === "Succeeded" && e.url && e.digest).map((e) => `#${e.id ?? "?"} ${shortRevision(e.revision)}`);
  return kept.length ? kept.join(", ") : "none";
};

/**
 * The history entry a rollback re-applies: --to ID, else the newest kept success of --revision, else the newest
 * kept success whose render differs from what is applied now. A CliError says why there is none.
 */
export function chooseTarget(app: App, o: { to?: number; revision?: string }): HistoryEntry {
  const h = historyOf(app);
  const name = `Application ${app.metadata?.namespace}/${app.metadata?.name}`;
  const usable = (e: HistoryEntry, what: string): HistoryEntry => {
    if (e.phase !== "Succeeded") throw new CliError(`${what} of ${name} is a ${e.phase} sync; roll back to a Succeeded one (kept: ${listKept(h)})`);
    if (!e.url || !e.digest) throw new CliError(`the rendered manifests of ${what} of ${name} are not kept (recorded before Mooring kept them); choose another (kept: ${listKept(h)})`);
    return e;
  };
  if (o.to !== undefined && o.revision !== undefined) throw new CliError("--to and --revision choose the same thing; give one");
  if (o.to !== undefined) {
    const e = h.find((x) => x.id === o.to);
    if (!e) throw new CliError(`${name} has no history entry #${o.to}; its history holds ${h.map((x) => `#${x.id ?? "?"}`).join(", ") || "nothing"} (spec.historyLimit: ${app.spec.historyLimit ?? "default 10"}). Run mooring history ${app.metadata?.name}`);
    return usable(e, `entry #${o.to}`);
  }
  if (o.revision !== undefined) {
    const matching = h.filter((x) => revisionMatches(x.revision, o.revision!));
    const ok = matching.find((x) => x.phase === "Succeeded" && x.url && x.digest);
    if (!ok) {
      const why = matching.length ? "no successful sync of it with kept manifests" : "it is not in the history (older entries and their manifests are not kept)";
      throw new CliError(`cannot roll back ${name} to revision ${o.revision}: ${why}; kept: ${listKept(h)}`);
    }
    return ok;
  }
  const applied = app.status?.rollback && app.status.rollback.phase !== "Released" ? app.status.rollback.digest : h.find((x) => x.phase === "Succeeded")?.digest;
  const previous = h.find((x) => x.phase === "Succeeded" && x.url && x.digest && x.digest !== applied);
  if (!previous) throw new CliError(`${name} has nothing to roll back to: no kept successful sync renders differently from what is applied (kept: ${listKept(h)})`);
  return previous;
}

export interface RollbackOptions {
  to?: number;
  revision?: string;
  until: RollbackUntil;
  wait: boolean;
  timeoutMs: number;
  output: Output;
}

export async function rollback(kube: Kube, name: string, o: RollbackOptions, io: Io, timing: Timing = realTiming): Promise<ExitCode> {
  const app = await getApp(kube, name);
  const ref = `Application ${kube.namespace}/${name}`;
  if (app.spec.suspend === true) throw new CliError(`${ref} is suspended, and nothing is synced while it is; run 'mooring resume ${name}' first`);
  const target = chooseTarget(app, o);
  const requestedAt = new Date(timing.now()).toISOString();
  const request = { requestedAt, digest: target.digest!, ...(target.id !== undefined ? { id: target.id } : {}), revision: target.revision, until: o.until };
  await kube.client.patch({ apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: ApplicationKind.kind, metadata: { name, namespace: kube.namespace } }, { metadata: { annotations: { [Annotations.rollback]: JSON.stringify(request) } } }, "merge");
  io.err(`► rollback of ${ref} to revision ${shortRevision(target.revision)}${target.id !== undefined ? ` (#${target.id})` : ""} requested (${Annotations.rollback})`);
  const report = (result: string, message: string, entry?: HistoryEntry) => {
    if (o.output === "json" || o.output === "yaml") {
      const doc = { application: `${kube.namespace}/${name}`, requestedAt, target: { id: target.id, revision: target.revision, digest: target.digest, commit: target.commit }, until: o.until, result, message, ...(entry ? { entry } : {}) };
      io.out(o.output === "json" ? toJson(doc) : toYaml(doc));
    }
  };
  if (!o.wait) {
    report("Requested", "the apply controller does the rollback; mooring history shows it");
    return Exit.ok;
  }
  const deadline = timing.now() + o.timeoutMs;
  let last = "";
  for (;;) {
    const cur = await getApp(kube, name);
    const rb = cur.status?.rollback;
    const cond = ((cur.status?.conditions ?? []) as Condition[]).find((c) => c.type === ConditionTypes.rolledBack);
    if (rb?.requestedAt === requestedAt && (rb.phase === "Succeeded" || rb.phase === "Failed")) {
      const entry = historyOf(cur).find((e) => e.trigger === "rollback" && e.digest === target.digest);
      const ok = rb.phase === "Succeeded";
      if (o.output === "table") {
        io.out(`${ok ? paint(io.color, "green", "✔") : paint(io.color, "red", "✗")} ${ok ? "rolled back" : "rollback failed"}: ${oneLine(rb.message)}`);
        if (entry?.changes) io.out(`  ${entry.changes.created} created, ${entry.changes.configured} configured, ${entry.changes.unchanged} unchanged, ${entry.changes.pruned} pruned`);
        if (ok) io.out(`  'mooring resume ${name}' ends the hold; until then a new commit is not synced${o.until === "newRevision" ? " (or: the next new revision ends it)" : ""}`);
      }
      report(rb.phase, rb.message ?? "", entry);
      return ok ? Exit.ok : Exit.negative;
    }
    // Refused by the controller (the entry's manifests gone meanwhile): the condition names the digest.
    if (cond?.status === "False" && cond.reason === "RollbackFailed" && rb?.requestedAt !== requestedAt && cond.message.includes(target.digest!)) {
      if (o.output === "table") io.out(`${paint(io.color, "red", "✗")} rollback refused: ${oneLine(cond.message)}`);
      report("Refused", cond.message);
      return Exit.negative;
    }
    const line = cond ? `${ConditionTypes.rolledBack}=${cond.status} (${cond.reason}): ${oneLine(cond.message)}` : "waiting for the apply controller";
    if (line !== last) {
      io.err(`◎ ${line}`);
      last = line;
    }
    if (timing.now() >= deadline) {
      io.err(`✗ timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for the rollback of ${ref}; it stays requested — see 'mooring history ${name}' and the controller logs`);
      report("Timeout", "the rollback stays requested");
      return Exit.timeout;
    }
    await timing.sleep(timing.pollMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// resume

/** Ends a suspension (spec.suspend: false) and a rollback's hold (the annotation removed); either may be absent. */
export async function resume(kube: Kube, name: string, o: { output: Output }, io: Io): Promise<ExitCode> {
  const app = await getApp(kube, name);
  const ref = `Application ${kube.namespace}/${name}`;
  const suspended = app.spec.suspend === true;
  const held = app.metadata?.annotations?.[Annotations.rollback] !== undefined;
  if (suspended || held) {
    await kube.client.patch(app, { ...(suspended ? { spec: { suspend: false } } : {}), ...(held ? { metadata: { annotations: { [Annotations.rollback]: null } } } : {}) }, "merge");
  }
  const done = [suspended ? "no longer suspended" : "", held ? "the rollback's hold ended: automated sync applies the source's revision again" : ""].filter(Boolean);
  if (o.output === "json" || o.output === "yaml") {
    const doc = { application: `${kube.namespace}/${name}`, unsuspended: suspended, rollbackReleased: held };
    io.out(o.output === "json" ? toJson(doc) : toYaml(doc));
  } else io.out(done.length ? `${ref} resumed: ${done.join("; ")}` : `${ref} is already active (not suspended, not rolled back)`);
  return Exit.ok;
}

// Helm hooks in a GitOps sync. Mooring applies a render as one set of objects, in sync waves (the
// `delivery.mooring.dev/sync-wave` annotation, docs/apply.md); it has no install, upgrade, delete or rollback
// events. The mapping (docs/render.md "Hooks"), chosen after Argo CD's (which maps pre-install and pre-upgrade both
// to PreSync, so an upgrade-only hook runs at the first sync: argoproj/argo-cd#7536, #6456) and Flux's (whose
// helm-controller runs hooks as Helm does, with release state):
//
//   - test hooks (test, test-success, test-failure) are always dropped: a sync never runs `helm test`;
//   - without an Application (`mooring render` without --application) the other hooks stay exactly as
//     `helm template` prints them;
//   - for an Application, pre-install/pre-upgrade hooks go in waves before every other object, ordered by
//     helm.sh/hook-weight (one wave per distinct weight), post-install/post-upgrade hooks in waves after them;
//     an install render (the default; `.Release.IsInstall`) drops upgrade-only hooks; an upgrade render
//     (isUpgrade) drops install-only Jobs and Pods — they ran at the install, and Helm's upgrade does not run
//     them again, whatever their content now (kept, a changed one would get a new hashed name below and run) —
//     and keeps other install-only hooks (a Secret, a Service, RBAC) in place, as Helm leaves them: dropping
//     those would prune them. `helm template --is-upgrade` gives no guidance: it prints every hook either way;
//     delete and rollback hooks are dropped (Mooring has no such events); a hook that sets its own sync wave keeps it;
//   - hook-delete-policy before-hook-creation (Helm's default) is honoured for Jobs and Pods, whose specs cannot
//     be changed in place: their name gets a hash of their content, so a changed hook is a new object that runs,
//     and the old one is pruned. hook-succeeded and hook-failed are not: a finished Job stays (deleting it would
//     make self-heal re-create it, and run it again).
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical.js";
import { isMap, originOf, setOrigin, type KubeObject } from "../objects.js";

export const HOOK_ANNOTATION = "helm.sh/hook";
export const HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight";
export const SYNC_WAVE_ANNOTATION = "delivery.mooring.dev/sync-wave";

const TEST_EVENTS = new Set(["test", "test-success", "test-failure"]);

export interface HookOptions {
  /** Map hooks onto sync waves (rendering for an Application); otherwise only test hooks are dropped. */
  waves: boolean;
  /** An upgrade render (.Release.IsUpgrade): pre-upgrade/post-upgrade hooks run; install-only Jobs and Pods are dropped, other install-only hooks stay. */
  isUpgrade?: boolean;
}

function annotations(o: KubeObject): Record<string, string> {
  return isMap(o.metadata.annotations) ? (o.metadata.annotations as Record<string, string>) : {};
}

export function hookEvents(o: KubeObject): string[] | undefined {
  const v = annotations(o)[HOOK_ANNOTATION];
  if (v === undefined || v === null) return undefined;
  return String(v)
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
}

export function isTestHook(o: KubeObject): boolean {
  return (hookEvents(o) ?? []).some((e) => TEST_EVENTS.has(e));
}

function weightOf(o: KubeObject): number {
  const w = Number.parseInt(String(annotations(o)[HOOK_WEIGHT_ANNOTATION] ?? "0"), 10);
  return Number.isFinite(w) ? w : 0;
}

function explicitWave(o: KubeObject): number | undefined {
  const v = annotations(o)[SYNC_WAVE_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number.parseInt(String(v), 10);
  return Number.isFinite(n) ? n : undefined;
}

/** A hook that runs when created (a Job or a Pod): the kinds whose names are hashed, and that run once per event. */
function runs(o: KubeObject): boolean {
  return (o.kind === "Job" && /^batch\//.test(o.apiVersion)) || (o.kind === "Pod" && o.apiVersion === "v1");
}

/** Jobs and Pods get a content-hashed name (before-hook-creation); the hash leaves the name itself out. */
function hashedName(o: KubeObject): string {
  const { name: _name, ...metadata } = o.metadata;
  const hash = createHash("sha256").update(canonicalJson({ ...o, metadata })).digest("hex").slice(0, 10);
  const base = o.metadata.name.length + 11 > 63 ? o.metadata.name.slice(0, 52).replace(/[-.]+$/, "") : o.metadata.name;
  return `${base}-${hash}`;
}

export function applyHooks(objects: KubeObject[], opts: HookOptions): KubeObject[] {
  const kept = objects.filter((o) => !isTestHook(o));
  if (!opts.waves) return kept;
  const pre = opts.isUpgrade ? "pre-upgrade" : "pre-install";
  const post = opts.isUpgrade ? "post-upgrade" : "post-install";
  const otherPre = opts.isUpgrade ? "pre-install" : "pre-upgrade";
  const otherPost = opts.isUpgrade ? "post-install" : "post-upgrade";

  type Phase = "pre" | "post";
  const phases = new Map<KubeObject, Phase>();
  const out: KubeObject[] = [];
  for (const o of kept) {
    const events = hookEvents(o);
    if (!events || events.length === 0 || events.every((e) => e === "crd-install")) {
      out.push(o);
      continue;
    }
    let phase: Phase | undefined;
    if (events.includes(pre)) phase = "pre";
    else if (events.includes(post)) phase = "post";
    else if (opts.isUpgrade && (events.includes(otherPre) || events.includes(otherPost))) {
      if (runs(o)) continue; // an install-only Job or Pod: it ran at the install; an upgrade does not run it again
      phase = events.includes(otherPre) ? "pre" : "post"; // another install-only hook: kept in place, as Helm leaves it
    }
    else if (events.includes(otherPre) || events.includes(otherPost)) continue; // upgrade-only hook on an install render
    else continue; // delete and rollback hooks: no such event in a sync
    phases.set(o, phase);
    out.push(o);
  }

  // Waves around the ordinary objects' own (0 unless the chart sets some).
  const ordinary = out.filter((o) => !phases.has(o)).map((o) => explicitWave(o) ?? 0);
  const low = ordinary.length ? Math.min(...ordinary) : 0;
  const high = ordinary.length ? Math.max(...ordinary) : 0;
  const weights = (p: Phase) => [...new Set([...phases].filter(([o, ph]) => ph === p && explicitWave(o) === undefined).map(([o]) => weightOf(o)))].sort((a, b) => a - b);
  const preWeights = weights("pre");
  const postWeights = weights("post");

  return out.map((o) => {
    const phase = phases.get(o);
    if (!phase) return o;
    let obj = o;
    if (runs(o)) obj = { ...o, metadata: { ...o.metadata, name: hashedName(o) } };
    if (explicitWave(o) === undefined) {
      const w = weightOf(o);
      const wave = phase === "pre" ? low - preWeights.length + preWeights.indexOf(w) : high + 1 + postWeights.indexOf(w);
      obj = { ...obj, metadata: { ...obj.metadata, annotations: { ...annotations(obj), [SYNC_WAVE_ANNOTATION]: String(wave) } } };
    }
    const origin = originOf(o);
    if (origin && obj !== o) setOrigin(obj, origin);
    return obj;
  });
}

// The content fault tests commit: revisions drawn at random (from a seeded Rng) from a pool of objects of several
// kinds across four sync waves, each revision adding, changing and removing objects, one of them opted out of prune.
import type { KubeObject } from "../../src/runtime/index.js";
import { configMap, deployment, secret, service, serviceAccount } from "./fault-env.js";
import type { Rng } from "./fault-rng.js";

export const PRUNE_OFF = { "mooring.dev/prune": "disabled" };

/** A first revision (no `previous`), or the next one: at least one object added, one changed and one removed. */
export function revision(r: Rng, previous: readonly KubeObject[] | undefined): KubeObject[] {
  const wave = () => r.pick([-1, 0, 0, 1, 2]);
  const value = () => r.int(0, 1e6).toString(36);
  const make: Record<string, () => KubeObject> = {
    "cm-a": () => configMap("cm-a", { v: value() }, wave()),
    "cm-b": () => configMap("cm-b", { v: value(), w: value() }, wave()),
    "cm-c": () => configMap("cm-c", { v: value() }, wave()),
    "cm-d": () => configMap("cm-d", { v: value() }, wave()),
    "cm-e": () => configMap("cm-e", { v: value() }),
    "sec-a": () => secret("sec-a", { token: value() }, wave()),
    "sa-a": () => serviceAccount("sa-a", wave()),
    "svc-a": () => service("svc-a", r.int(80, 90), wave()),
    // A Deployment makes the next wave wait for its health (kwok's node runs its Pod).
    web: () => deployment("web", `registry.example/web:${r.int(1, 9)}`, 1),
    "keep-me": () => configMap("keep-me", { v: value() }, 0, PRUNE_OFF),
  };
  const names = Object.keys(make);
  if (!previous) return names.filter(() => r.bool(0.6)).map((n) => make[n]!());
  const had = previous.map((o) => o.metadata!.name!);
  const absent = names.filter((n) => !had.includes(n));
  // Always at least one add, one change and one prune (when the pool allows).
  const removed = new Set(had.length > 2 ? [r.pick(had), ...had.filter(() => r.bool(0.2))] : []);
  const changed = new Set([r.pick(had), ...had.filter(() => r.bool(0.4))]);
  const added = absent.length ? [r.pick(absent), ...absent.filter(() => r.bool(0.3))] : [];
  const next: KubeObject[] = [];
  for (const o of previous) {
    const n = o.metadata!.name!;
    if (removed.has(n)) continue;
    next.push(changed.has(n) ? make[n]!() : o);
  }
  for (const n of new Set(added)) next.push(make[n]!());
  return next;
}


// dependsOn: whether an Application's dependencies are Ready, and dependency cycles. Pure functions over a lookup
// (the controller passes its informer cache), so the rules are unit-tested without a cluster.
import { ConditionTypes } from "../api/constants.js";

export interface DependencyRef {
  name: string;
  namespace?: string;
}

/** The parts of an Application the dependency rules read. */
export interface DependencyView {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: string };
  spec?: { dependsOn?: DependencyRef[] };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[];
    sync?: { revision?: string };
    render?: { artifact?: { revision?: string } };
  };
}

/** "namespace/name" of a dependency, its namespace defaulting to the dependent's. */
export function dependencyKey(dep: DependencyRef, fromNamespace: string): string {
  return `${dep.namespace ?? fromNamespace}/${dep.name}`;
}

/** Keys of the Applications `app` depends on. */
export function dependenciesOf(app: DependencyView): string[] {
  const ns = app.metadata?.namespace ?? "";
  return (app.spec?.dependsOn ?? []).map((d) => dependencyKey(d, ns));
}

/**
 * Why a dependency is not Ready yet, or undefined when it is: Ready=True observed at its current generation, and
 * the revision it applied is the revision its render produced (it is not about to sync something newer).
 */
export function notReadyReason(key: string, dep: DependencyView | undefined): string | undefined {
  if (!dep) return `dependency Application ${key} does not exist; create it or remove it from spec.dependsOn`;
  if (dep.metadata?.deletionTimestamp) return `dependency Application ${key} is being deleted`;
  const ready = dep.status?.conditions?.find((c) => c.type === ConditionTypes.ready);
  if (ready?.status !== "True") return `dependency Application ${key} is not Ready${ready ? ` (${[ready.reason, ready.message].filter(Boolean).join(": ")})` : ""}`;
  const gen = dep.metadata?.generation;
  if (gen !== undefined && ready.observedGeneration !== gen) return `dependency Application ${key} is Ready at generation ${ready.observedGeneration ?? "?"}, not yet at its current generation ${gen}`;
  const rendered = dep.status?.render?.artifact?.revision;
  const applied = dep.status?.sync?.revision;
  if (rendered && applied !== rendered) return `dependency Application ${key} has applied revision ${applied ?? "none"}, not yet its rendered revision ${rendered}`;
  return undefined;
}

/**
 * A dependency cycle through `start`, as the keys along it ending with `start` again ("a → b → a"), or undefined.
 * Walks the graph depth-first with a bound on visited nodes, so a huge graph cannot stall a reconcile.
 */
export function findCycle(start: string, depsOf: (key: string) => string[] | undefined, maxNodes = 10_000): string[] | undefined {
  const onPath: string[] = [];
  const done = new Set<string>();
  let visits = 0;
  const visit = (key: string): string[] | undefined => {
    if (++visits > maxNodes) return undefined;
    onPath.push(key);
    for (const next of depsOf(key) ?? []) {
      if (next === start) return [...onPath, start];
      if (done.has(next) || onPath.includes(next)) continue;
      const found = visit(next);
      if (found) return found;
    }
    onPath.pop();
    done.add(key);
    return undefined;
  };
  return visit(start);
}

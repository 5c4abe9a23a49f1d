// Property-based tests of sync order (src/apply/order.ts, src/apply/drift.ts groupWaves, the Applier's apply order)
// and dependencies (src/apply/depends.ts), issue 17 part 6:
//   - order: every object exactly once, in its phase (Namespaces/CRDs, cluster-scoped, namespaced, webhooks), each
//     phase sorted by a total order, the same whatever the input order; runs partition a phase by kind;
//   - the Applier sends the applies phase by phase and run by run, never a later kind before an earlier one;
//   - waves: ascending, each object in the wave its annotation names (default 0), input order kept inside a wave,
//     a non-integer annotation refused naming the object;
//   - dependsOn: a cycle found is a real cycle through the Application; none found means there is none; a
//     dependency is Ready only when Ready=True at its generation with its rendered revision applied.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Applier } from "../../../src/apply/applier.js";
import { type DependencyView, findCycle, notReadyReason } from "../../../src/apply/depends.js";
import { SYNC_WAVE_ANNOTATION, groupWaves } from "../../../src/apply/drift.js";
import { idOf, refOf } from "../../../src/apply/inventory.js";
import { compareObjects, orderObjects, phaseOf, runsOf } from "../../../src/apply/order.js";
import type { Client } from "../../../src/runtime/client.js";
import type { KindDescriptor, KubeObject } from "../../../src/runtime/kinds.js";
import { fcParams } from "./params.js";

interface K {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}
const KINDS: K[] = [
  { apiVersion: "v1", kind: "Namespace", namespaced: false },
  { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", namespaced: false },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", namespaced: false },
  { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", namespaced: false },
  { apiVersion: "v1", kind: "ServiceAccount", namespaced: true },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", namespaced: true },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", namespaced: true },
  { apiVersion: "v1", kind: "Secret", namespaced: true },
  { apiVersion: "v1", kind: "ConfigMap", namespaced: true },
  { apiVersion: "v1", kind: "Service", namespaced: true },
  { apiVersion: "apps/v1", kind: "Deployment", namespaced: true },
  { apiVersion: "batch/v1", kind: "Job", namespaced: true },
  { apiVersion: "example.com/v1", kind: "Widget", namespaced: true },
  { apiVersion: "example.com/v1", kind: "Gadget", namespaced: false },
  { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", namespaced: false },
  { apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", namespaced: false },
  // A kind named like a core one in another group is not a Namespace.
  { apiVersion: "example.com/v1", kind: "Namespace", namespaced: true },
];
const scopeOf = (o: { apiVersion?: unknown; kind?: unknown }) => KINDS.find((k) => k.kind === o.kind && k.apiVersion === o.apiVersion)?.namespaced;

/** Kinds that must come before others (within a phase): [earlier, later]. */
const BEFORE: [string, string][] = [
  ["Namespace", "CustomResourceDefinition"],
  ["ServiceAccount", "Deployment"],
  ["Secret", "Deployment"],
  ["ConfigMap", "Deployment"],
  ["Role", "RoleBinding"],
  ["ConfigMap", "Service"],
  ["Service", "Deployment"],
  ["Deployment", "Widget"],
];

const objArb = fc
  .record({ k: fc.constantFrom(...KINDS), name: fc.constantFrom("a", "b", "web", "z-last", "db"), ns: fc.constantFrom("team", "apps"), wave: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined }) })
  .map(({ k, name, ns, wave }) => ({
    apiVersion: k.apiVersion,
    kind: k.kind,
    metadata: { name, ...(k.namespaced ? { namespace: ns } : {}), ...(wave !== undefined ? { annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) } } : {}) },
  }));
const objects = fc.uniqueArray(objArb, { selector: (o) => idOf(refOf(o)), maxLength: 25 });

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const phaseRank = (o: KubeObject) => phaseOf(o, scopeOf(o) ?? false);

void describe("sync order (property-based)", () => {
  void it("orders every object exactly once, in its phase, sorted, whatever the input order", () => {
    fc.assert(
      fc.property(objects, fc.integer(), (objs, seed) => {
        const phases = orderObjects(objs, scopeOf);
        const flat = phases.flat();
        assert.deepEqual(flat.map((o) => idOf(refOf(o))).sort(), objs.map((o) => idOf(refOf(o))).sort());
        phases.forEach((p, i) => {
          for (const o of p) assert.equal(phaseOf(o, scopeOf(o) ?? false), i, `${o.kind} in phase ${i}`);
          for (let j = 1; j < p.length; j++) assert.ok(compareObjects(p[j - 1]!, p[j]!) <= 0, `phase ${i} not sorted`);
        });
        // The same order from any input order.
        assert.deepEqual(orderObjects(shuffled(objs, seed), scopeOf).flat().map((o) => idOf(refOf(o))), flat.map((o) => idOf(refOf(o))));
        // Kinds a workload needs come first.
        flat.forEach((x, i) =>
          flat.forEach((y, j) => {
            if (phaseRank(x as KubeObject) !== phaseRank(y as KubeObject)) return;
            if (BEFORE.some(([a, b]) => x.kind === a && y.kind === b)) assert.ok(i < j, `${x.kind} ${x.metadata.name} after ${y.kind} ${y.metadata.name}`);
          }),
        );
        // Namespaces and CRDs (core/apiextensions) first, webhooks and APIServices last.
        const ranks = flat.map((o) => phaseRank(o as KubeObject));
        assert.deepEqual(ranks, [...ranks].sort((x, y) => x - y));
      }),
      fcParams(),
    );
  });

  void it("compareObjects is a total order (antisymmetric, transitive)", () => {
    fc.assert(
      fc.property(objArb, objArb, objArb, (a, b, c) => {
        assert.equal(Math.sign(compareObjects(a, b)), -Math.sign(compareObjects(b, a)) || 0);
        if (compareObjects(a, b) <= 0 && compareObjects(b, c) <= 0) assert.ok(compareObjects(a, c) <= 0);
        assert.equal(compareObjects(a, a), 0);
      }),
      fcParams(500),
    );
  });

  void it("runs partition each phase in order, one kind weight per run", () => {
    fc.assert(
      fc.property(objects, (objs) => {
        for (const phase of orderObjects(objs, scopeOf)) {
          const runs = runsOf(phase);
          assert.deepEqual(runs.flat(), phase);
          for (const run of runs) {
            assert.ok(run.length > 0);
            // Objects of one run may be applied concurrently: never a kind that another kind of the run needs.
            for (const [a, b] of BEFORE) assert.ok(!(run.some((o) => o.kind === a) && run.some((o) => o.kind === b)), `${a} and ${b} in one run`);
          }
        }
      }),
      fcParams(),
    );
  });

  void it("the Applier sends applies phase by phase and run by run, never a later kind before an earlier one", async () => {
    await fc.assert(
      fc.asyncProperty(objects, async (objs) => {
        const sent: KubeObject[] = [];
        const mapper = {
          async kindForObject(o: KubeObject): Promise<KindDescriptor> {
            const k = KINDS.find((x) => x.kind === o.kind && x.apiVersion === o.apiVersion)!;
            const [group, version] = k.apiVersion.includes("/") ? k.apiVersion.split("/") : ["", k.apiVersion];
            return { group: group!, version: version!, kind: k.kind, plural: `${k.kind.toLowerCase()}s`, namespaced: k.namespaced };
          },
        };
        const client = {
          mapper,
          live: () => ({ mapper, get: async () => undefined }),
          async apply(o: KubeObject) {
            sent.push(o);
            await new Promise((r) => setImmediate(r));
            return { ...o, metadata: { ...o.metadata, uid: "u", resourceVersion: String(sent.length) }, status: { conditions: [{ type: "Established", status: "True" }] } };
          },
        };
        const applier = new Applier({ client: client as unknown as Client, owner: "team.app", defaultNamespace: "team", force: false, fieldManager: "mooring", waitMs: 1000 });
        // CRDs are waited for until discovery serves their kinds: leave them out here (the fake has no discovery).
        const input = objs.filter((o) => o.kind !== "CustomResourceDefinition");
        const res = await applier.apply(input);
        assert.equal(res.failures.length, 0, JSON.stringify(res.failures));
        assert.equal(sent.length, input.length);
        const expected = orderObjects(input, scopeOf).flatMap((p) => runsOf(p));
        // Each run's objects are sent before any object of a later run.
        let pos = 0;
        for (const run of expected) {
          const ids = new Set(run.map((o) => idOf(refOf(o))));
          const got = sent.slice(pos, pos + run.length).map((o) => idOf(refOf(o)));
          assert.ok(got.every((id) => ids.has(id)), `run ${[...ids].join(",")} interleaved with ${got.join(",")}`);
          pos += run.length;
        }
      }),
      fcParams(100),
    );
  });
});

void describe("sync waves (property-based)", () => {
  void it("groups every object into the wave its annotation names, ascending, keeping the input order within a wave", () => {
    fc.assert(
      fc.property(objects, (objs) => {
        const waves = groupWaves(objs as KubeObject[]);
        for (let i = 1; i < waves.length; i++) assert.ok(waves[i - 1]!.wave < waves[i]!.wave);
        assert.equal(waves.reduce((n, w) => n + w.objects.length, 0), objs.length);
        for (const w of waves) {
          for (const o of w.objects) assert.equal(Number(o.metadata?.annotations?.[SYNC_WAVE_ANNOTATION] ?? 0), w.wave);
          const positions = w.objects.map((o) => objs.indexOf(o as (typeof objs)[number]));
          assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
        }
      }),
      fcParams(),
    );
  });

  void it("refuses a wave annotation that is not an integer, naming the object", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 6 }).filter((s) => !/^\s*[+-]?\d+\s*$/.test(s)),
        (bad) => {
          const o = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "team", annotations: { [SYNC_WAVE_ANNOTATION]: bad } } };
          assert.throws(() => groupWaves([o]), /ConfigMap team\/cfg: annotation delivery\.mooring\.dev\/sync-wave/);
        },
      ),
      fcParams(),
    );
  });
});

void describe("dependsOn (property-based)", () => {
  const graph: fc.Arbitrary<Record<string, string[]>> = fc.dictionary(fc.constantFrom("a", "b", "c", "d", "e", "f"), fc.uniqueArray(fc.constantFrom<string>("a", "b", "c", "d", "e", "f", "x"), { maxLength: 3 }), { maxKeys: 6 });

  /** Whether `start` can reach itself through at least one edge (reference: breadth-first search). */
  function onCycle(start: string, g: Record<string, string[]>): boolean {
    const seen = new Set<string>();
    const queue = [...(g[start] ?? [])];
    while (queue.length) {
      const k = queue.shift()!;
      if (k === start) return true;
      if (seen.has(k)) continue;
      seen.add(k);
      queue.push(...(g[k] ?? []));
    }
    return false;
  }

  void it("findCycle returns a real cycle through the start exactly when there is one", () => {
    fc.assert(
      fc.property(graph, fc.constantFrom("a", "b", "c"), (g, start) => {
        const cycle = findCycle(start, (k) => g[k]);
        if (cycle) {
          assert.equal(cycle[0], start);
          assert.equal(cycle[cycle.length - 1], start);
          for (let i = 1; i < cycle.length; i++) assert.ok((g[cycle[i - 1]!] ?? []).includes(cycle[i]!), `${cycle[i - 1]} → ${cycle[i]} is not an edge`);
        }
        assert.equal(cycle !== undefined, onCycle(start, g), JSON.stringify(g));
      }),
      fcParams(500),
    );
  });

  void it("a dependency is Ready only when Ready=True at its generation with its rendered revision applied", () => {
    const dep = fc.option(
      fc.record({
        deleting: fc.boolean(),
        generation: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        ready: fc.option(fc.record({ status: fc.constantFrom("True", "False", "Unknown"), observedGeneration: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }), { nil: undefined }),
        rendered: fc.option(fc.constantFrom("r1", "r2"), { nil: undefined }),
        applied: fc.option(fc.constantFrom("r1", "r2"), { nil: undefined }),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(dep, (d) => {
        const view: DependencyView | undefined = d && {
          metadata: { name: "dep", namespace: "team", ...(d.generation !== undefined ? { generation: d.generation } : {}), ...(d.deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}) },
          status: {
            conditions: d.ready ? [{ type: "Ready", status: d.ready.status, ...(d.ready.observedGeneration !== undefined ? { observedGeneration: d.ready.observedGeneration } : {}) }] : [],
            ...(d.applied ? { sync: { revision: d.applied } } : {}),
            ...(d.rendered ? { render: { artifact: { revision: d.rendered } } } : {}),
          },
        };
        const ready =
          !!d && !d.deleting && d.ready?.status === "True" && (d.generation === undefined || d.ready.observedGeneration === d.generation) && (d.rendered === undefined || d.applied === d.rendered);
        const reason = notReadyReason("team/dep", view);
        assert.equal(reason === undefined, ready, `${JSON.stringify(d)}: ${reason}`);
        if (reason) assert.match(reason, /team\/dep/);
      }),
      fcParams(500),
    );
  });
});

// Property-based tests of prune planning (src/apply/inventory.ts, src/apply/policy.ts, prune() in src/apply/applier.ts),
// issue 17 part 6. A generated cluster holds objects of several kinds, each claimed by this Application, by another
// one or by none, some opted out of prune; the previous and next inventories are generated over it (with entries of
// objects that are gone). Whatever they are, prune
//   - deletes only entries of the previous inventory that the next one lacks (never an object outside the old
//     inventory), and only while the live object still carries this Application's label and no opt-out (never one
//     owned by another Application, never one a user re-labelled), with the live uid as a precondition;
//   - accounts for every stale entry exactly once (pruned, skipped with a reason, or failed and kept);
//   - deletes Namespaces after the objects in them.
// Inventory ids must also round-trip for every name the API server accepts, since prune trusts only them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { INVENTORY_ID } from "../../../src/api/schema.js";
import { prune } from "../../../src/apply/applier.js";
import { type InventoryEntry, type ObjectRef, entryOf, idOf, inventoryOf, refOfEntry, staleEntries } from "../../../src/apply/inventory.js";
import { PRUNE_ANNOTATION, PRUNE_DISABLED, pruneDecision } from "../../../src/apply/policy.js";
import type { Client } from "../../../src/runtime/client.js";
import { type KindDescriptor, type KubeObject, parseApiVersion } from "../../../src/runtime/kinds.js";
import { fcParams } from "./params.js";

const LABEL = "delivery.mooring.dev/application";
const MINE = "team.app";

const KINDS: KindDescriptor[] = [
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true },
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
];
const apiVersion = (k: KindDescriptor) => (k.group ? `${k.group}/${k.version}` : k.version);

interface Live {
  ref: ObjectRef;
  owner: "mine" | "other" | "none";
  optOut: boolean;
  uid: string;
}

const refArb: fc.Arbitrary<ObjectRef> = fc
  .record({ k: fc.constantFrom(...KINDS), name: fc.constantFrom("a", "b", "c", "web", "db"), namespace: fc.constantFrom("team", "other") })
  .map(({ k, name, namespace }) => ({ apiVersion: apiVersion(k), kind: k.kind, name, namespace: k.namespaced ? namespace : "" }));

const world = fc
  .record({
    cluster: fc.uniqueArray(
      fc.record({ ref: refArb, owner: fc.constantFrom<Live["owner"]>("mine", "mine", "other", "none"), optOut: fc.boolean() }),
      { selector: (l) => idOf(l.ref), maxLength: 12 },
    ),
    previous: fc.uniqueArray(refArb, { selector: idOf, maxLength: 12 }),
    next: fc.uniqueArray(refArb, { selector: idOf, maxLength: 12 }),
    failing: fc.uniqueArray(refArb, { selector: idOf, maxLength: 3 }),
  })
  .map(({ cluster, previous, next, failing }) => ({
    cluster: cluster.map((c, i) => ({ ...c, uid: `uid-${i}` }) as Live),
    // The old inventory lists most of what is ours in the cluster, plus objects that are gone.
    previous: inventoryOf([...cluster.filter((c, i) => c.owner === "mine" && i % 3 !== 2).map((c) => c.ref), ...previous]),
    next: inventoryOf(next),
    failing: new Set(failing.map(idOf)),
  }));

/** A Client over an in-memory cluster: enough of it for prune (live().get, mapper.kindFor, delete). */
function fakeClient(cluster: Live[], failing: Set<string>) {
  const byId = new Map(cluster.map((l) => [idOf(l.ref), l]));
  const deletes: { ref: ObjectRef; uid?: string }[] = [];
  const mapper = {
    async kindFor(av: string, kind: string) {
      const k = KINDS.find((x) => x.kind === kind && apiVersion(x) === av);
      if (!k) throw new Error(`no kind ${av} ${kind}`);
      return k;
    },
  };
  const toObject = (l: Live): KubeObject => ({
    apiVersion: l.ref.apiVersion,
    kind: l.ref.kind,
    metadata: {
      name: l.ref.name,
      ...(l.ref.namespace ? { namespace: l.ref.namespace } : {}),
      uid: l.uid,
      labels: l.owner === "mine" ? { [LABEL]: MINE } : l.owner === "other" ? { [LABEL]: "team.other" } : {},
      ...(l.optOut ? { annotations: { [PRUNE_ANNOTATION]: PRUNE_DISABLED } } : {}),
    },
  });
  const live = {
    mapper,
    async get(kind: { kind?: string } & Partial<KindDescriptor>, name: string, namespace?: string) {
      const k = KINDS.find((x) => x.kind === kind.kind)!;
      const l = byId.get(idOf({ apiVersion: apiVersion(k), kind: k.kind, name, namespace: namespace ?? "" }));
      return l ? toObject(l) : undefined;
    },
  };
  const client = {
    mapper,
    live: () => live,
    async delete(target: KubeObject, o: { preconditions?: { uid?: string } }) {
      const ref = { apiVersion: target.apiVersion!, kind: target.kind!, name: target.metadata!.name!, namespace: target.metadata?.namespace ?? "" };
      const id = idOf(ref);
      if (failing.has(id)) throw Object.assign(new Error(`injected failure deleting ${id}`), { status: 500 });
      deletes.push({ ref, uid: o.preconditions?.uid });
      const l = byId.get(id);
      if (!l) return false;
      byId.delete(id);
      return true;
    },
  };
  return { client: client as unknown as Client, deletes, remaining: byId };
}

void describe("prune planning (property-based)", () => {
  void it("stale entries are exactly the old inventory's ids the new one lacks", () => {
    fc.assert(
      fc.property(world, ({ previous, next }) => {
        const stale = staleEntries(previous, next);
        const nextIds = new Set(next.map((e) => e.id));
        const prevIds = new Set(previous.map((e) => e.id));
        for (const e of stale) assert.ok(prevIds.has(e.id) && !nextIds.has(e.id), e.id);
        assert.equal(stale.length, previous.filter((e) => !nextIds.has(e.id)).length);
      }),
      fcParams(),
    );
  });

  void it("prune deletes only stale entries still claimed by this Application and not opted out, each exactly once accounted for", async () => {
    await fc.assert(
      fc.asyncProperty(world, async ({ cluster, previous, next, failing }) => {
        const stale = staleEntries(previous, next);
        const before = new Map(cluster.map((l) => [idOf(l.ref), l]));
        const { client, deletes } = fakeClient(cluster, failing);
        const res = await prune(stale, { client, owner: MINE, propagationPolicy: "Background" });
        const staleIds = new Set(stale.map((e) => e.id));
        for (const d of deletes) {
          const id = idOf(d.ref);
          const l = before.get(id);
          assert.ok(staleIds.has(id), `deleted ${id}, which is not a stale inventory entry`);
          assert.ok(l, `deleted ${id}, which did not exist`);
          assert.equal(l.owner, "mine", `deleted ${id}, owned by ${l.owner}`);
          assert.equal(l.optOut, false, `deleted ${id}, which opted out of prune`);
          assert.equal(d.uid, l.uid, `deleted ${id} without its uid as precondition`);
        }
        // Every stale entry is accounted for once.
        const accounted = [...res.pruned.map(idOf), ...res.skipped.map((s) => idOf(s.ref)), ...res.failures.map((f) => idOf(f.ref))];
        assert.deepEqual([...accounted].sort(), [...staleIds].sort());
        // Everything ours, stale, live and deletable is gone; the failures are reported.
        for (const id of staleIds) {
          const l = before.get(id);
          const deletable = l && l.owner === "mine" && !l.optOut;
          if (deletable && !failing.has(id)) assert.ok(res.pruned.some((r) => idOf(r) === id), `${id} should have been pruned`);
          if (deletable && failing.has(id)) assert.ok(res.failures.some((f) => idOf(f.ref) === id), `${id}'s failed deletion should be reported (and kept)`);
        }
        // Namespaces go after everything else.
        const order = deletes.map((d) => d.ref.kind);
        const firstNs = order.indexOf("Namespace");
        if (firstNs >= 0) assert.ok(order.slice(firstNs).every((k) => k === "Namespace"), `deletion order ${order.join(", ")}`);
      }),
      fcParams(),
    );
  });

  void it("pruneDecision: prune only a live object labelled for this Application and not opted out", () => {
    fc.assert(
      fc.property(
        fc.option(fc.record({ label: fc.option(fc.constantFrom(MINE, "team.other", "", `${MINE}x`)), annotation: fc.option(fc.constantFrom(PRUNE_DISABLED, "enabled", "Disabled")) })),
        (o) => {
          const live: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } | undefined =
            o === null ? undefined : { metadata: { labels: o.label === null ? {} : { [LABEL]: o.label }, annotations: o.annotation === null ? {} : { [PRUNE_ANNOTATION]: o.annotation } } };
          const d = pruneDecision(live, MINE);
          const expected = o !== null && o.label === MINE && o.annotation !== PRUNE_DISABLED;
          assert.equal(d.prune, expected, JSON.stringify(o));
          if (!d.prune) assert.ok(d.reason.length > 0);
        },
      ),
      fcParams(500),
    );
  });

  const dns1123 = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?){0,2}$/);
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const group = fc.oneof(fc.constant(""), fc.stringMatching(/^[a-z]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z]([a-z0-9-]{0,6}[a-z0-9])?){1,2}$/));
  const kind = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,12}$/);

  void it("inventory ids round-trip for every object whose name is a DNS-1123 subdomain", () => {
    fc.assert(
      fc.property(group, fc.stringMatching(/^v[1-9][a-z0-9]{0,6}$/), kind, dns1123, fc.option(label), (g, v, k, name, ns) => {
        const ref: ObjectRef = { apiVersion: g ? `${g}/${v}` : v, kind: k, name, namespace: ns ?? "" };
        assert.deepEqual(refOfEntry(entryOf(ref)), ref);
        assert.equal(parseApiVersion(ref.apiVersion).group, g);
      }),
      fcParams(500),
    );
  });

  // RBAC objects are named by path segments, not DNS names: "_" (and ":") are valid, and common in the wild
  // (ClusterRole "system:aggregate_to_view"-style names); `kubectl create clusterrole a_b` succeeds.
  const rbacName = fc.stringMatching(/^[a-z0-9:_.-]{1,20}$/).filter((n) => n !== "." && n !== "..");
  void it("inventory ids round-trip for RBAC objects, whose names may contain '_'", () => {
    fc.assert(
      fc.property(rbacName, fc.constantFrom("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"), label, (name, k, ns) => {
        const ref: ObjectRef = { apiVersion: "rbac.authorization.k8s.io/v1", kind: k, name, namespace: k.startsWith("Cluster") ? "" : ns };
        const id = idOf(ref);
        assert.deepEqual(refOfEntry(entryOf(ref)), ref);
        // The API server checks status.sync.inventory[].id against this pattern: an id it refuses is never recorded.
        assert.match(id, new RegExp(INVENTORY_ID));
        // The id of a name without "_" is the one the release before the escaping wrote, so its inventories still match.
        if (!name.includes("_")) assert.equal(id, `${ref.namespace}_${name}_rbac.authorization.k8s.io_${k}`);
      }),
      fcParams(),
    );
    assert.deepEqual(refOfEntry(entryOf({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: "a_b", namespace: "" })).name, "a_b");
  });

  void it("the inventory is sorted, without duplicates, and one id per object whatever its apiVersion", () => {
    fc.assert(
      fc.property(fc.array(refArb, { maxLength: 20 }), (refs) => {
        const inv = inventoryOf(refs);
        const ids = inv.map((e: InventoryEntry) => e.id);
        assert.deepEqual(ids, [...new Set(ids)].sort());
        assert.equal(inv.length, new Set(refs.map(idOf)).size);
      }),
      fcParams(),
    );
  });
});

// Property-based tests of drift detection (src/apply/drift.ts), issue 17 part 6. Generated objects stand for
// anything an Application may apply; the API server's answer is modelled by what the documentation says it may do
// to them (add defaults and other managers' fields, drop zero values, canonicalise quantities and int-or-string
// values, store Secret stringData as base64 data, reorder named list elements, add status and server metadata).
//   1. server defaults never drift: the served object of an applied object shows no drift;
//   2. any applied-field change does: changing, or removing, one applied non-zero leaf of the served object drifts,
//      and the pointer reported leads to it;
//   3. ignoreDifferences: the same change under an ignored pointer is no drift.
// A failure prints fast-check's seed and the shrunk counterexample; `FC_SEED=<seed>` repeats it, FC_RUNS=<n> runs more.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { comparable, driftedFields, objectDrift, parseQuantity, stripPointers } from "../../../src/apply/drift.js";
import type { KubeObject } from "../../../src/runtime/kinds.js";
import { Rng } from "../../support/fault-rng.js";
import { fcParams } from "./params.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObj = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const isZero = (v: Json | undefined) => v === null || v === undefined || v === false || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);

/** Keys, some of them quantity keys (requests, limits, storage) and some needing pointer escapes. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,7}$/) },
  { weight: 1, arbitrary: fc.constantFrom("requests", "limits", "storage", "a/b", "x~y", "app.kubernetes.io/name") },
);
const scalar: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 70000 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom("1", "8080", "100m", "1Gi", "0.5", "2k", "1e3", "", "0") },
);
const names = (n: number) => fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/), { minLength: n, maxLength: n });
/** Names of which some repeat: `name` is not the key of every list (RoleBinding subjects share "default"). */
const sharedNames = (n: number) => fc.array(fc.constantFrom("default", "web", "a"), { minLength: n, maxLength: n });

/**
 * Applied documents: nested objects; lists of scalars (atomic), of objects with a name (unique, or shared by some),
 * and of unnamed objects (some equal to, or contained in, another).
 */
const doc = fc.letrec<{ value: Json; object: Record<string, Json>; list: Json[] }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, { weight: 5, arbitrary: scalar }, { weight: 2, arbitrary: tie("object") }, { weight: 1, arbitrary: tie("list") }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  list: fc.oneof(
    fc.array(scalar, { maxLength: 3 }),
    fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(fc.oneof(names(n), sharedNames(n)), fc.array(fc.dictionary(key.filter((k) => k !== "name"), tie("value"), { maxKeys: 3 }), { minLength: n, maxLength: n })).map(([ns, objs]) => objs.map((o, i) => ({ name: ns[i]!, ...o })))),
    // Unnamed elements are matched by position or, when the server reorders, by content; an element contained in
    // another (two tolerations of one key) is common, so are copies.
    fc.array(fc.dictionary(key.filter((k) => k !== "name"), scalar.filter((v) => !isZero(v)), { minKeys: 1, maxKeys: 2 }), { maxLength: 3 }).chain((list) =>
      fc.constantFrom<Json[]>(list, list.length ? [...list, { ...list[0]!, [`x${list.length}`]: "more" }] : list, list.length ? [...list, list[0]!] : list)),
  ),
}));

const QUANTITY_PARENTS = new Set(["requests", "limits", "hard", "capacity", "allocatable", "overhead", "default", "defaultRequest", "max", "min", "maxLimitRequestRatio"]);
const quantityPath = (path: readonly string[]) => ["sizeLimit", "storage"].includes(path[path.length - 1] ?? "") || path.slice(0, -1).some((s) => QUANTITY_PARENTS.has(s));

/** For each served list of objects, the applied index of each served element (-1: the server's own). */
const origin = new WeakMap<Json[], number[]>();

/** What an API server may answer for `v` at `path` (see the header). */
function serve(v: Json, path: string[], r: Rng): Json {
  if (isObj(v)) {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      if (isZero(x) && r.bool(0.5)) continue; // omitempty
      out[k] = serve(x, [...path, k], r);
    }
    // A default or another manager's field.
    if (r.bool(0.3)) {
      const extra = `srv${r.int(0, 99)}`;
      if (!(extra in out)) out[extra] = r.pick<Json>(["TCP", 10, true, { nested: "x" }]);
    }
    return out;
  }
  if (Array.isArray(v)) {
    if (v.every((x) => !isObj(x))) return v.map((x, i) => serveScalar(x, [...path, String(i)], r)); // atomic: same length, same order
    const served = v.map((x, i) => serve(x, [...path, String(i)], r));
    const from = v.map((_, i) => i);
    const named = v.every((x) => isObj(x) && typeof x.name === "string");
    if (named) {
      // Elements of another manager, and the server's own order.
      if (r.bool(0.3)) {
        served.push({ name: `other-${r.int(0, 9)}-${r.int(0, 1e6)}`, x: 1 });
        from.push(-1);
      }
      for (let i = served.length - 1; i > 0; i--) {
        const j = r.int(0, i);
        [served[i], served[j]] = [served[j]!, served[i]!];
        [from[i], from[j]] = [from[j]!, from[i]!];
      }
    } else if (r.bool(0.3)) {
      served.push({ appendedByServer: r.int(0, 1e6) });
      from.push(-1);
    }
    origin.set(served, from);
    return served;
  }
  return serveScalar(v, path, r);
}

function serveScalar(v: Json, path: string[], r: Rng): Json {
  if (quantityPath(path) && (typeof v === "string" || typeof v === "number")) {
    const q = parseQuantity(v);
    if (q !== undefined && r.bool(0.5)) {
      if (Number.isSafeInteger(q)) return String(q);
      if (Number.isSafeInteger(q * 1000)) return `${q * 1000}m`;
    }
  }
  // int-or-string
  if (typeof v === "number" && Number.isInteger(v) && r.bool(0.3)) return String(v);
  if (typeof v === "string" && /^(0|[1-9][0-9]{0,8})$/.test(v) && r.bool(0.3)) return Number(v);
  return v;
}

function servedObject(applied: KubeObject, seed: number): KubeObject {
  const r = new Rng(seed);
  const { apiVersion, kind, metadata, ...rest } = applied as KubeObject & Record<string, Json>;
  const body = serve(rest as Json, [], r) as Record<string, Json>;
  const out: Record<string, unknown> = {
    apiVersion,
    kind,
    ...body,
    metadata: {
      ...metadata,
      labels: { ...(metadata?.labels ?? {}), ...(r.bool(0.3) ? { "pod-template-hash": "abc" } : {}) },
      annotations: { ...(metadata?.annotations ?? {}), ...(r.bool(0.3) ? { "deployment.kubernetes.io/revision": "3" } : {}) },
      uid: "0b0b0b0b-0000-4000-8000-000000000000",
      resourceVersion: String(r.int(1, 1e6)),
      generation: r.int(1, 9),
      creationTimestamp: "2024-01-01T00:00:00Z",
      managedFields: [{ manager: "mooring", operation: "Apply" }],
    },
    status: { observedGeneration: 1, conditions: [{ type: "Ready", status: "True" }] },
  };
  if (kind === "Secret") {
    const s = applied as KubeObject & { stringData?: Record<string, string>; data?: Record<string, string> };
    const data = { ...(s.data ?? {}) };
    for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = Buffer.from(v, "utf8").toString("base64");
    delete out.stringData;
    out.data = data;
  }
  return out as KubeObject;
}

const appliedObject: fc.Arbitrary<KubeObject> = fc.oneof(
  fc.record({ spec: doc.object, labels: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxKeys: 2 }) }).map(({ spec, labels }) => ({
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name: "w", namespace: "ns", labels: { ...labels, "delivery.mooring.dev/application": "ns.app" } },
    spec,
  })) as fc.Arbitrary<KubeObject>,
  fc.record({ data: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 3 }), stringData: fc.dictionary(fc.stringMatching(/^[A-Z]{1,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 3 }) }).map(
    ({ data, stringData }) =>
      ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "s", namespace: "ns" },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
        stringData,
      }) as KubeObject,
  ),
);

/** Paths (segments) of the applied leaves whose value is not zero, in the comparable form of the object. */
function leaves(v: Json, path: string[] = []): string[][] {
  if (isObj(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  if (Array.isArray(v)) {
    if (v.every((x) => !isObj(x))) return isZero(v) ? [] : [path]; // an atomic list is one leaf
    return v.flatMap((x, i) => leaves(x, [...path, String(i)]));
  }
  return isZero(v) ? [] : [path];
}

/** The served value at an applied path (the server may have reordered list elements: `origin` says where each went). */
function locate(served: Json, applied: Json, path: readonly string[]): { parent: Record<string, Json> | Json[]; key: string } | undefined {
  let s = served;
  let a = applied;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    if (Array.isArray(a) && Array.isArray(s)) {
      const el = a[Number(seg)];
      const found = s[servedIndex(s, Number(seg))];
      a = el as Json;
      s = found as Json;
    } else if (isObj(a) && isObj(s)) {
      a = a[seg] as Json;
      s = s[seg] as Json;
    } else return undefined;
    if (s === undefined) return undefined;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(s) && Array.isArray(a)) {
    const idx = servedIndex(s, Number(last));
    return idx < 0 ? undefined : { parent: s, key: String(idx) };
  }
  return isObj(s) ? { parent: s, key: last } : undefined;
}

const servedIndex = (served: Json[], applied: number): number => origin.get(served)?.indexOf(applied) ?? applied;

/** A value no normalisation makes equal to `v`. */
function changed(v: Json): Json {
  if (typeof v === "string") return `${v}-changed`;
  if (typeof v === "number") return v + 7;
  if (typeof v === "boolean") return !v;
  if (Array.isArray(v)) return [...v, "extra"];
  return "changed";
}

/**
 * Whether a reported pointer leads to the changed field: at or above it, or at (or into) another element of a list
 * on its way that holds the changed element or is held by it. Which of two such elements lost its counterpart is a
 * matter of choice (applied [{name: d}, {name: d, a: 1}] against live [{name: d, a: 1}, {name: d-changed}]: either
 * applied element may be the one left without a live one), and both reports name the right list and element shape.
 */
function leadsTo(d: string, path: readonly string[], want: Json): boolean {
  if (pointer(path).startsWith(d)) return true;
  let cur = want;
  for (let k = 0; k < path.length; k++) {
    if (Array.isArray(cur)) {
      const mine = cur[Number(path[k])] as Json;
      const prefix = pointer(path.slice(0, k));
      const hit = cur.some((other, j) => j !== Number(path[k]) && (d === `${prefix}/${j}` || d.startsWith(`${prefix}/${j}/`)) && (related(mine, other) || related(other, mine)));
      if (hit) return true;
      cur = mine;
    } else if (isObj(cur)) cur = cur[path[k]!] as Json;
    else return false;
  }
  return false;
}
const related = (a: Json, b: Json) => driftedFields(a, b, 1).length === 0;

const pointer = (path: readonly string[]) => "/" + path.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

void describe("drift (property-based)", () => {
  void it("server defaults never drift: an applied object's served form shows no drift", () => {
    fc.assert(
      fc.property(appliedObject, fc.integer(), (applied, seed) => {
        const live = servedObject(applied, seed);
        assert.deepEqual(objectDrift(applied, live, []), [], `served: ${JSON.stringify(live)}`);
      }),
      fcParams(),
    );
  });

  void it("any applied-field change drifts, reported at (or above) the changed field", () => {
    fc.assert(
      fc.property(appliedObject, fc.integer(), fc.nat(), fc.boolean(), (applied, seed, pick, remove) => {
        const want = comparable(applied) as Json;
        const ls = leaves(want);
        fc.pre(ls.length > 0);
        const path = ls[pick % ls.length]!;
        const live = servedObject(applied, seed) as unknown as Json;
        // The served Secret carries data where the applied one had stringData: change the served data key instead.
        const loc = locate(live, want, path);
        fc.pre(loc !== undefined);
        const { parent, key: k } = loc!;
        const old = (parent as Record<string, Json>)[k]!;
        if (remove && !Array.isArray(parent)) delete (parent as Record<string, Json>)[k];
        else (parent as Record<string, Json>)[k] = changed(old);
        const drift = objectDrift(applied, live as KubeObject, []);
        assert.ok(drift.length > 0, `changing ${pointer(path)} (${JSON.stringify(old)}) went unnoticed`);
        assert.ok(drift.some((d) => leadsTo(d, path, want)), `drift ${JSON.stringify(drift)} does not lead to ${pointer(path)}`);
      }),
      fcParams(),
    );
  });

  void it("a change under an ignoreDifferences pointer is no drift", () => {
    fc.assert(
      fc.property(appliedObject.filter((o) => o.kind === "Widget"), fc.integer(), fc.nat(), (applied, seed, pick) => {
        const want = comparable(applied) as Json;
        // Pointers into named lists address the applied index, which the server may have moved: plain paths only.
        const ls = leaves(want).filter((p) => p.every((s) => !/^\d+$/.test(s)));
        fc.pre(ls.length > 0);
        const path = ls[pick % ls.length]!;
        const live = servedObject(applied, seed) as unknown as Json;
        const loc = locate(live, want, path);
        fc.pre(loc !== undefined);
        (loc!.parent as Record<string, Json>)[loc!.key] = changed((loc!.parent as Record<string, Json>)[loc!.key]!);
        const rules = [{ group: "example.com", kind: "Widget", jsonPointers: [pointer(path)] }];
        assert.deepEqual(objectDrift(applied, live as KubeObject, rules), []);
        // And stripping the pointer removes exactly that field from what is compared.
        assert.equal(leaves(comparable(stripPointers(applied, [pointer(path)])) as Json).some((p) => pointer(p) === pointer(path)), false);
      }),
      fcParams(),
    );
  });

  // Found by the generators above once lists of objects were allowed to share a "name" (or to contain one another):
  // drift matches list elements by their `name` field, but `name` is not the key of every list. RoleBinding and
  // ClusterRoleBinding subjects are atomic lists in which two subjects often share a name (ServiceAccount
  // "default" of two namespaces), and tolerations have no name at all.
  void it("a binding whose subjects share a name (ServiceAccount default of two namespaces) does not drift when unchanged", () => {
    const applied = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "readers" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [
        { kind: "ServiceAccount", name: "default", namespace: "team-a" },
        { kind: "ServiceAccount", name: "default", namespace: "team-b" },
      ],
    } as KubeObject;
    assert.deepEqual(objectDrift(applied, servedObject(applied, 1), []), []);
  });

  void it("a quantity in a list of unnamed objects below requests/limits is compared as a quantity", () => {
    const applied = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "ns" }, spec: { requests: [{ cpu: "2k" }] } } as KubeObject;
    const live = { ...structuredClone(applied), spec: { requests: [{ cpu: "2000" }] } } as KubeObject;
    assert.deepEqual(objectDrift(applied, live, []), []);
  });

  void it("a changed list element is drift even when another element contains its old value", () => {
    const applied = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns" }, spec: { tolerations: [{ key: "a", operator: "Exists" }, { key: "a", operator: "Exists", effect: "NoSchedule" }] } } as KubeObject;
    const live = structuredClone(applied) as KubeObject & { spec: { tolerations: { key: string }[] } };
    live.spec.tolerations[0]!.key = "changed";
    assert.notDeepEqual(objectDrift(applied, live, []), []);
  });
});

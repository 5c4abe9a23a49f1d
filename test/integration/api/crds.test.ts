// The generated CRDs on a real API server: they install, accept every example, reject the same invalid
// objects as the in-process validator (naming the same field), default like applyDefaults, and work with
// kubectl (explain, the mooring category, printer columns, wait --for=condition=Ready).
// The CRDs are cluster-scoped and shared by every test and helper: they are applied idempotently
// (server-side apply, forced, one field manager) and never deleted.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { FieldManagers, KIND_DEFINITIONS, MOORING_KINDS, allCrds, applyDefaults, installCrds, mooringKindOf } from "../../../src/api/index.js";
import type { KindDescriptor } from "../../../src/runtime/kinds.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";
import { INVALID_CASES, fullStatus, loadExamples, minimalApplication, minimalGitRepository, minimalHelmChart, minimalHelmRepository, minimalProvider, minimalAlert, minimalSyncPolicy } from "../../support/api-fixtures.js";

type Obj = Record<string, any>;
const run = promisify(execFile);

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;

function kindOf(obj: Obj): KindDescriptor {
  const d = mooringKindOf(obj.apiVersion, obj.kind);
  if (!d) throw new Error(`${obj.apiVersion} ${obj.kind} is not a Mooring kind`);
  return d;
}

function where(obj: Obj) {
  const d = kindOf(obj);
  return { group: d.group, version: d.version, plural: d.plural, namespace: ns.name };
}

async function create(obj: Obj, dryRun?: "All"): Promise<Obj> {
  // Strict field validation, as kubectl apply does by default: unknown fields are errors, not silently pruned.
  return custom.createNamespacedCustomObject({ ...where(obj), body: obj, fieldValidation: "Strict", ...(dryRun ? { dryRun } : {}) });
}

async function get(obj: Obj): Promise<Obj> {
  return custom.getNamespacedCustomObject({ ...where(obj), name: obj.metadata.name });
}

/** Server-side apply of a status through the status subresource, as a controller does. */
async function applyStatus(obj: Obj, status: Obj, fieldManager: string): Promise<Obj> {
  const body = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: ns.name }, status };
  return custom.patchNamespacedCustomObjectStatus(
    { ...where(obj), name: obj.metadata.name, body, fieldManager, force: true },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
  );
}

/** The API server's message for a rejected request (the Status object's message), or a failure when it was accepted. */
async function rejection(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (err) {
    if (err instanceof k8s.ApiException) {
      const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
      return { code: err.code, message: String(body?.message ?? err.body) };
    }
    throw err;
  }
  assert.fail("the API server accepted the object");
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run("kubectl", ["--kubeconfig", c.kubeconfigPath, ...args], { timeout: 60_000 });
  return stdout;
}

function unique(obj: Obj, name: string): Obj {
  const copy = structuredClone(obj);
  copy.metadata = { ...copy.metadata, name };
  return copy;
}

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  const names = await installCrds(c.kc);
  assert.deepEqual(names, ["gitrepositories.source.mooring.dev", "applications.delivery.mooring.dev", "syncpolicies.delivery.mooring.dev", "helmrepositories.source.mooring.dev", "helmcharts.source.mooring.dev", "providers.notification.mooring.dev", "alerts.notification.mooring.dev"]);
  ns = await createTestNamespace(c, "api");
  // The resource is served a moment after Established: wait until a list answers in the new namespace.
  for (const d of MOORING_KINDS) {
    await waitFor(`${d.plural}.${d.group} served`, async () => Boolean(await custom.listNamespacedCustomObject({ group: d.group, version: d.version, plural: d.plural, namespace: ns.name })), {
      timeoutMs: 30_000,
    });
  }
});

after(async () => {
  await ns?.cleanup();
});

void describe("CRDs on the API server", () => {
  void it("install cleanly and accept their names (applying them again changes nothing)", async () => {
    const ext = c.kc.makeApiClient(k8s.ApiextensionsV1Api);
    for (const crd of allCrds() as Obj[]) {
      const live = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
      const cond = (t: string) => live.status?.conditions?.find((x) => x.type === t)?.status;
      assert.equal(cond("NamesAccepted"), "True", crd.metadata.name);
      assert.equal(cond("Established"), "True", crd.metadata.name);
      assert.deepEqual(live.status?.acceptedNames?.shortNames, crd.spec.names.shortNames);
      const again = await ext.patchCustomResourceDefinition(
        { name: crd.metadata.name, body: crd, fieldManager: FieldManagers.crds, force: true, dryRun: "All" },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
      );
      assert.equal(again.metadata?.generation, live.metadata?.generation, `re-applying ${crd.metadata.name} would change it`);
    }
  });

  void it("accept every example, and default it exactly as applyDefaults does", async () => {
    const examples = loadExamples();
    assert.ok(examples.length >= 3);
    for (const { file, object } of examples) {
      const created = await create(object);
      assert.deepEqual(created.spec, applyDefaults(object).spec, `${file}: ${object.kind} ${object.metadata.name}`);
    }
  });

  void it("default minimal objects exactly as applyDefaults does", async () => {
    for (const obj of [minimalGitRepository("minimal-repo"), minimalApplication("minimal-app"), minimalSyncPolicy("minimal-policy")]) {
      const created = await create(obj, "All");
      assert.deepEqual(created.spec, applyDefaults(obj).spec, obj.kind);
    }
    const noSpec: Obj = minimalSyncPolicy("policy-without-spec");
    delete noSpec.spec;
    assert.deepEqual((await create(noSpec, "All")).spec, applyDefaults(noSpec).spec);
  });

  void it(`reject the ${INVALID_CASES.length} invalid objects of the table, naming the field`, async () => {
    const problems: string[] = [];
    for (const [i, tc] of INVALID_CASES.entries()) {
      const obj = tc.object.metadata.name === "repo" || tc.object.metadata.name === "app" || tc.object.metadata.name === "policy" ? unique(tc.object, `invalid-${i}`) : tc.object;
      let r: { code: number; message: string };
      if (tc.subresource === "status") {
        const { status, ...withoutStatus } = obj;
        await create(withoutStatus);
        r = await rejection(applyStatus(obj, status, "mooring-api-test"));
      } else {
        r = await rejection(create(obj, "All"));
      }
      if (![400, 422].includes(r.code) || !r.message.includes(tc.field)) problems.push(`${tc.name}: HTTP ${r.code}, message does not name ${tc.field}: ${r.message}`);
    }
    assert.deepEqual(problems, []);
  });

  void it("kubectl explain application.spec.sourceRef prints the field descriptions", async () => {
    const out = await waitFor("kubectl explain to know the Application schema", async () => {
      const text = await kubectl("explain", "application.spec.sourceRef");
      return text.includes("The source whose artifact the Application renders") ? text : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000 });
    assert.match(out, /GROUP:\s+delivery\.mooring\.dev/);
    assert.match(out, /Kind of the source/);
    assert.match(out, /namespace\s+<string>/);
    assert.match(await kubectl("explain", "gitrepository.spec.url"), /Supported schemes: https, and http/);
  });

  void it("kubectl get mooring lists objects of all three kinds", async () => {
    for (const obj of [minimalGitRepository("listed-repo"), minimalApplication("listed-app"), minimalSyncPolicy("listed-policy")]) await create(obj);
    const names = (await kubectl("get", "mooring", "-n", ns.name, "-o", "name")).split("\n");
    for (const expected of ["gitrepository.source.mooring.dev/listed-repo", "application.delivery.mooring.dev/listed-app", "syncpolicy.delivery.mooring.dev/listed-policy"]) {
      assert.ok(names.includes(expected), `kubectl get mooring did not list ${expected}: ${names.join(", ")}`);
    }
    const short = await kubectl("get", "gitrepo,mapp,syncpolicy", "-n", ns.name, "-o", "name");
    assert.match(short, /application\.delivery\.mooring\.dev\/listed-app/);
    // Applications are selectable by the source and policy they reference (the controllers list them so).
    const bySource = await kubectl("get", "mapp", "-n", ns.name, "--field-selector", "spec.sourceRef.name=repo", "-o", "name");
    assert.match(bySource, /application\.delivery\.mooring\.dev\/listed-app/);
    assert.equal((await kubectl("get", "mapp", "-n", ns.name, "--field-selector", "spec.sourceRef.name=other", "-o", "name")).trim(), "");
  });
});

void describe("status layout", () => {
  for (const def of KIND_DEFINITIONS) {
    const kind = def.descriptor.kind;
    void it(`${kind}: a status written through the status subresource makes kubectl wait --for=condition=Ready succeed`, async () => {
      const base = { GitRepository: minimalGitRepository, Application: minimalApplication, SyncPolicy: minimalSyncPolicy, HelmRepository: minimalHelmRepository, HelmChart: minimalHelmChart, Provider: minimalProvider, Alert: minimalAlert }[kind]!(`ready-${kind.toLowerCase()}`);
      const created = await create(base);
      const status = fullStatus(kind, created.metadata.generation);
      if (kind === "Application") {
        // Two controllers, two field managers, one status: the render controller's part and the sync
        // controller's part must both survive (conditions are a list-map keyed by type).
        const now = "2026-01-02T15:04:05Z";
        const renderPart = {
          source: status.source,
          render: status.render,
          conditions: [{ type: "Rendered", status: "True", observedGeneration: 1, lastTransitionTime: now, reason: "Succeeded", message: "2 objects" }],
        };
        const { source: _s, render: _r, ...syncPart } = status;
        await applyStatus(base, renderPart, FieldManagers.render);
        await applyStatus(base, syncPart, FieldManagers.sync);
        const live = await get(base);
        assert.deepEqual(live.status.conditions.map((x: Obj) => x.type).sort(), ["Healthy", "Ready", "Rendered", "Synced"]);
        assert.deepEqual(live.status.render, status.render);
        assert.deepEqual(live.status.sync, status.sync);
        const managers = (live.metadata.managedFields as Obj[]).filter((m) => m.subresource === "status").map((m) => m.manager).sort();
        assert.deepEqual(managers, [FieldManagers.render, FieldManagers.sync]);
      } else {
        await applyStatus(base, status, kind === "GitRepository" ? FieldManagers.source : kind === "Provider" || kind === "Alert" ? FieldManagers.notify : FieldManagers.policy);
        const live = await get(base);
        assert.deepEqual(live.status, status);
      }
      const out = await kubectl("wait", "-n", ns.name, `--for=condition=Ready`, "--timeout=30s", `${def.descriptor.plural}.${def.descriptor.group}/${base.metadata.name}`);
      assert.match(out, /condition met/);

      const table = await kubectl("get", "-n", ns.name, `${def.descriptor.plural}.${def.descriptor.group}`, base.metadata.name);
      const [header, row] = table.trim().split("\n");
      const expectedColumns = ["NAME", ...def.printerColumns.filter((p) => !p.priority).map((p) => p.name.toUpperCase())];
      assert.deepEqual(header!.trim().split(/\s{2,}/), expectedColumns);
      const expectedCells: Record<string, RegExp> = {
        GitRepository: /ready-gitrepository\s+https:\/\/git\.example\.com\/org\/repo\.git\s+main@sha1:0123456789abcdef0123456789abcdef01234567\s+True\s+all good/,
        Application: /ready-application\s+main@sha1:0123456789abcdef0123456789abcdef01234567\s+Synced\s+Healthy\s+True\s+all good/,
        SyncPolicy: /ready-syncpolicy\s+true\s+NoWindows/,
        HelmRepository: /ready-helmrepository\s+https:\/\/charts\.example\.com\s+True\s+all good/,
        HelmChart: /ready-helmchart\s+podinfo\s+\*\s+6\.5\.4\s+True\s+all good/,
        Provider: /ready-provider\s+generic\s+True\s+True\s+all good/,
        Alert: /ready-alert\s+chat\s+True\s+True\s+all good/,
      };
      assert.match(row!, expectedCells[kind]!);
    });
  }
});

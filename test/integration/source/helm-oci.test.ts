// Charts from an OCI registry: the CNCF distribution registry built by `make tools`, over TLS with htpasswd auth,
// charts pushed with the pinned `helm push`. The client resolves tags as versions and verifies the manifest and the
// chart layer by digest; on the local cluster an OCI HelmRepository (certSecretRef + secretRef) and a HelmChart store
// the newest matching version, a poll with no new version downloads no chart, and an Application renders it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { Annotations, ApplicationKind, FieldManagers, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { setupRenderController } from "../../../src/render/controller.js";
import { Manager } from "../../../src/runtime/index.js";
import { HelmSourceError } from "../../../src/source/helm-repo.js";
import { OciClient, downloadOciChart, ociLayer, ociRef, resolveOci } from "../../../src/source/helm-oci.js";
import { setupHelmControllers, type HelmControllers } from "../../../src/source/helmchart.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER } from "../../support/helm-registry.js";
import { configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Obj {
  status?: { conditions?: Cond[]; artifact?: { url: string; revision: string; digest: string }; chartName?: string; lastHandledReconcileAt?: string; render?: { artifact?: { url: string; revision: string } } };
}

const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural };
const KIND = new Map<string, string>([[R.plural, "HelmRepository"], [C.plural, "HelmChart"], [A.plural, "Application"]]);

let reg: OciRegistry;
let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let dir: string;
let artifacts: RunningServer;
let helm: HelmControllers;
const stop = new AbortController();
let running: Promise<void>;

const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const creds = { basic: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } };

async function get(r: typeof R, name: string): Promise<Obj | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...r, namespace: ns.name, name })) as Obj;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}
async function create(r: typeof R, name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ ...r, namespace: ns.name, body: { apiVersion: `${r.group}/${r.version}`, kind: KIND.get(r.plural), metadata: { name }, spec } });
}
async function waitCond(r: typeof R, name: string, type: string, status: string, also: (o: Obj) => boolean = () => true): Promise<Obj> {
  return waitFor(`${KIND.get(r.plural)} ${name} ${type}=${status}`, async () => {
    const o = await get(r, name);
    return cond(o, type)?.status === status && also(o!) ? o : undefined;
  }, { timeoutMs: 60_000 });
}

before(async () => {
  reg = await OciRegistry.start();
  for (const v of ["0.1.0", "0.2.0", "1.0.0"]) reg.push(configMapChart("ocidemo", v));
});

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
  await artifacts?.close();
  await reg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void describe("OCI registry client", () => {
  const client = () => new OciClient(ociRef(reg.url, "ocidemo").host, { creds, ca: reg.ca, timeoutMs: 10_000 });

  void it("resolves tags as versions, reads the chart layer from the manifest and downloads it verified", async () => {
    const r = await resolveOci(client(), reg.url, "ocidemo", "<1", creds);
    assert.deepEqual(r, { version: "0.2.0", tag: "0.2.0" });
    const cl = client();
    const layer = await ociLayer(cl, reg.url, "ocidemo", r.tag, creds);
    assert.match(layer.layer, /^sha256:[0-9a-f]{64}$/);
    const got = await downloadOciChart(cl, reg.url, "ocidemo", layer, 1 << 20);
    assert.equal(got.digest, layer.layer);
    assert.equal(got.chartName, "ocidemo");
  });

  void it("no matching tag, an unknown chart, a wrong password, an untrusted certificate and an oversized chart each have their reason", async () => {
    const fail = async (p: Promise<unknown>): Promise<HelmSourceError> => {
      try {
        await p;
      } catch (err) {
        assert.ok(err instanceof HelmSourceError, String(err));
        assert.doesNotMatch(err.message, new RegExp(REGISTRY_PASSWORD));
        return err;
      }
      assert.fail("it succeeded");
    };
    assert.equal((await fail(resolveOci(client(), reg.url, "ocidemo", "^5", creds))).reason, "NoMatchingVersion");
    assert.equal((await fail(resolveOci(client(), reg.url, "absent", "*", creds))).reason, "ChartNotFound");
    const wrong = { basic: { username: REGISTRY_USER, password: "wrong" } };
    const denied = await fail(resolveOci(new OciClient(reg.host, { creds: wrong, ca: reg.ca, timeoutMs: 10_000 }), reg.url, "ocidemo", "*", wrong));
    assert.equal(denied.reason, "AuthenticationFailed");
    const tls = await fail(resolveOci(new OciClient(reg.host, { creds, timeoutMs: 10_000 }), reg.url, "ocidemo", "*", creds));
    assert.equal(tls.reason, "RepositoryUnreachable");
    assert.match(tls.message, /TLS to https:\/\/127\.0\.0\.1:\d+ failed/);
    const cl = client();
    const layer = await ociLayer(cl, reg.url, "ocidemo", "1.0.0", creds);
    assert.equal((await fail(downloadOciChart(cl, reg.url, "ocidemo", layer, 64))).reason, "ChartTooLarge");
  });
});

void describe("OCI HelmRepository and HelmChart on the cluster", () => {
  before(async () => {
    c = await testCluster();
    custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrds(c.kc);
    ns = await createTestNamespace(c, "helmoci");
    await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "oci-auth" }, stringData: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } } });
    await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "oci-ca" }, stringData: { "ca.crt": reg.ca } } });
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-helmoci-"));
    const storage = new ArtifactStorage({ root: path.join(dir, "storage") });
    await storage.init();
    artifacts = await startArtifactServer("127.0.0.1:0", { root: storage.root });
    const mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), fieldManager: FieldManagers.source, logger: createLogger({ level: "warn" }) });
    helm = setupHelmControllers(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, concurrency: 2, failureBackoffMs: 1_000 });
    setupRenderController(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, cacheDir: path.join(dir, "cache"), concurrency: 2, renderTimeoutMs: 30_000 });
    running = mgr.start(stop.signal);
  });

  void it("stores the newest matching version from the registry; a poll with no new version downloads nothing; an Application renders it", async () => {
    await create(R, "oci", { type: "oci", url: reg.url, secretRef: { name: "oci-auth" }, certSecretRef: { name: "oci-ca" }, interval: "10m" });
    await create(R, "oci-nocreds", { type: "oci", url: reg.url, certSecretRef: { name: "oci-ca" }, interval: "10m" });
    const r = await waitCond(R, "oci", "Ready", "True");
    assert.match(cond(r, "Ready")!.message, /OCI registry 127\.0\.0\.1:\d+ answers/);
    const anon = await waitCond(R, "oci-nocreds", "Ready", "False");
    assert.equal(cond(anon, "Ready")!.reason, "AuthenticationFailed");
    await create(C, "ocidemo", { sourceRef: { kind: "HelmRepository", name: "oci" }, chart: "ocidemo", version: "~0.1 || ~0.2", interval: "10m" });
    const ch = await waitCond(C, "ocidemo", "Ready", "True");
    assert.equal(ch.status!.artifact!.revision, "0.2.0");
    assert.equal(ch.status!.chartName, "ocidemo");
    assert.match(cond(ch, "Ready")!.message, /digest verified against the manifest/);
    const downloads = helm.stats.chartDownloads;
    const v = new Date().toISOString();
    await custom.patchNamespacedCustomObject(
      { ...C, namespace: ns.name, name: "ocidemo", body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: v } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await waitFor("reconcile handled", async () => (await get(C, "ocidemo"))?.status?.lastHandledReconcileAt === v, { timeoutMs: 60_000 });
    assert.equal(helm.stats.chartDownloads, downloads, "no chart downloaded for an unchanged version");
    await create(A, "ociapp", { sourceRef: { kind: "HelmChart", name: "ocidemo" }, interval: "10m" });
    const app = await waitCond(A, "ociapp", "Rendered", "True");
    const objs = (await (await fetch(app.status!.render!.artifact!.url)).json()) as { metadata: { name: string }; data?: Record<string, string> }[];
    assert.equal(objs.find((o) => o.metadata.name === "ociapp-ocidemo")?.data?.version, "0.2.0");
  });
});

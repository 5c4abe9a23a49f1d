// The render controller's render step (src/render/render-step.ts) from its plain inputs to its outcome, with no
// cluster: the Application and its resolved source are objects, the source artifacts tar.gz files served by a local
// HTTP server (as the source controller's artifact server serves them), and the storage, render memory, crash
// journal and source cache real ones in temporary directories; renders run in real worker threads.
// What is tested: render once per input, answer it from memory after (also after a restart), keep the last render
// for a source that changed nothing it reads, and map each failure to the input's (remembered) or not (RetryError).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createGzip } from "node:zlib";
import { pack } from "tar-stream";
import { ConditionTypes, Reasons } from "../../../src/api/index.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { writeTarGz } from "../../../src/artifact/tarball.js";
import { createLogger } from "../../../src/log.js";
import { renderCacheKey, type ResolvedInputs } from "../../../src/render/application.js";
import { DEFAULT_KUBE_VERSION } from "../../../src/render/helm/go.js";
import { closeRenderWorkers } from "../../../src/render/isolated.js";
import { RenderCrashJournal } from "../../../src/render/crashes.js";
import { SourceCache } from "../../../src/render/fetch.js";
import { RenderMemory } from "../../../src/render/memo.js";
import { RetryError, type RenderOutcome } from "../../../src/render/outcome.js";
import { appliedBefore, RenderStep, renderedKey, type RenderStepOptions } from "../../../src/render/render-step.js";
import type { ResolvedSource } from "../../../src/render/source-ref.js";
import type { ReconcileContext } from "../../../src/runtime/index.js";
import { helmBinary } from "../../support/helm.js";

const top = mkdtempSync(path.join(os.tmpdir(), "mooring-render-step-"));
const CM = (name: string, extra = "") => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v${extra}\n`;
const LIMITS = "heap=256,timeout=60000";

/** Log lines, to see the step's warnings. */
const logged: string[] = [];
const ctx: ReconcileContext = {
  signal: new AbortController().signal,
  reconcileID: "test",
  log: createLogger({ level: "warn", format: "json", stream: new Writable({ write: (c: Buffer, _e, cb) => (logged.push(c.toString()), cb()) }) }),
};

// The artifact server: path → bytes.
const blobs = new Map<string, Buffer>();
let server: Server;
let base = "";
let published = 0;

async function gz(files: Record<string, string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const entries = Object.entries(files).map(([p, t]) => ({ path: p, type: "file" as const, executable: false, size: Buffer.byteLength(t), read: () => Promise.resolve(Buffer.from(t)) }));
  for await (const c of writeTarGz(entries)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Serves `bytes` at a new URL; the artifact as a GitRepository's status names it (the digest of `digestOf`). */
function serve(bytes: Buffer, digestOf = bytes): ResolvedSource["artifact"] {
  const n = ++published;
  blobs.set(`/gitrepository/team-a/repo/${n}.tar.gz`, bytes);
  return { url: `${base}/gitrepository/team-a/repo/${n}.tar.gz`, digest: `sha256:${createHash("sha256").update(digestOf).digest("hex")}`, revision: `main@sha1:${String(n).padStart(40, "0")}` };
}

type App = Parameters<RenderStep["run"]>[0];
function application(spec: Partial<App["spec"]> = {}, status?: App["status"]): App {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { namespace: "team-a", name: "web", generation: 1 }, spec: { sourceRef: { kind: "GitRepository", name: "repo" }, path: "apps/web", targetNamespace: "web", ...spec }, ...(status ? { status } : {}) } as App;
}

/** A render step and its options. */
interface Harness {
  o: RenderStepOptions;
  run(app: App, artifact: ResolvedSource["artifact"], resolved?: ResolvedInputs): Promise<RenderOutcome>;
}

/** A render step over directories of its own under `name` (a second step over the same `name` is a restart). */
function step(name: string, o: Partial<RenderStepOptions> = {}): Harness {
  const dir = path.join(top, name);
  const opts: RenderStepOptions = {
    storage: new ArtifactStorage({ root: path.join(dir, "storage") }),
    advertisedAddr: "artifacts.test:9090",
    sources: new SourceCache({ dir: path.join(dir, "sources") }),
    memory: new RenderMemory(path.join(dir, "renders"), LIMITS, ctx.log),
    crashes: new RenderCrashJournal(path.join(dir, "crashes")),
    capabilities: { get: () => Promise.resolve({ kubeVersion: "v1.31.0" }) },
    heapMb: 256,
    timeoutMs: 60_000,
    limitsKey: LIMITS,
    stats: { renders: 0, cacheHits: 0, unchanged: 0 },
    ...o,
  };
  const s = new RenderStep(opts);
  return {
    o: opts,
    run: async (app, artifact, resolved = {}) => {
      await opts.storage.init();
      return s.run(app, { artifact, spec: app.spec, chart: false }, resolved, ctx);
    },
  };
}

/** The stored objects of a rendered outcome of step `s`. */
function stored(s: Harness, o: RenderOutcome): { metadata: { name: string; namespace?: string }; data?: Record<string, string> }[] {
  return JSON.parse(readFileSync(s.o.storage.absolute(rendered(o).render.url.replace("http://artifacts.test:9090/", ""))).toString()) as ReturnType<typeof stored>;
}
const data = (s: Harness, o: RenderOutcome) => stored(s, o)[0]?.data;

function rendered(o: RenderOutcome): Extract<RenderOutcome, { kind: "rendered" }> {
  assert.equal(o.kind, "rendered", JSON.stringify(o));
  return o as Extract<RenderOutcome, { kind: "rendered" }>;
}
function failed(o: RenderOutcome): Extract<RenderOutcome, { kind: "renderFailed" }> {
  assert.equal(o.kind, "renderFailed", JSON.stringify(o));
  return o as Extract<RenderOutcome, { kind: "renderFailed" }>;
}

void describe("the render step", () => {
  before(async () => {
    server = createServer((req, res) => {
      const b = blobs.get(req.url ?? "");
      res.writeHead(b ? 200 : 404, b ? { "content-length": b.length } : {});
      res.end(b);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await closeRenderWorkers();
    await new Promise((r) => server.close(r));
    rmSync(top, { recursive: true, force: true });
  });

  void it("renders an input once and stores it under the Application; the same input is answered from memory, also after a restart", async () => {
    const art = serve(await gz({ "apps/web/cm.yaml": CM("web"), "apps/other/cm.yaml": CM("other") }));
    const s = step("once");
    const first = rendered(await s.run(application(), art));
    assert.equal(first.fresh, true);
    assert.deepEqual(first.source, { revision: art.revision, digest: art.digest });
    assert.deepEqual([first.render.type, first.render.objects, first.render.path], ["plain", 1, "apps/web"]);
    assert.ok(first.render.url.startsWith("http://artifacts.test:9090/application/team-a/web/"), first.render.url);
    const bytes = readFileSync(s.o.storage.absolute(first.render.url.replace("http://artifacts.test:9090/", "")));
    assert.equal(first.render.digest, `sha256:${createHash("sha256").update(bytes).digest("hex")}`, "the digest is the stored bytes'");
    assert.deepEqual(stored(s, first).map((o) => [o.metadata.name, o.metadata.namespace]), [["web", "web"]]);
    const again = rendered(await s.run(application(), art));
    assert.equal(again.fresh, false);
    assert.deepEqual(again.render, first.render);
    assert.deepEqual(s.o.stats, { renders: 1, cacheHits: 1, unchanged: 0 });
    const restarted = step("once");
    assert.deepEqual(rendered(await restarted.run(application(), art)).render, first.render);
    assert.equal(restarted.o.stats.renders, 0, "the render index on disk answered");
  });

  void it("renders again when its stored artifact was collected", async () => {
    const art = serve(await gz({ "apps/web/cm.yaml": CM("web") }));
    const s = step("collected");
    const first = rendered(await s.run(application(), art));
    rmSync(s.o.storage.absolute(first.render.url.replace("http://artifacts.test:9090/", "")));
    const second = rendered(await s.run(application(), art));
    assert.equal(second.fresh, true);
    assert.equal(second.render.digest, first.render.digest);
    assert.equal(s.o.stats.renders, 2);
  });

  void it("keeps the last render for a new source that changed nothing it reads, and renders a change that it reads", async () => {
    const s = step("replay");
    const one = rendered(await s.run(application(), serve(await gz({ "apps/web/cm.yaml": CM("web"), "apps/other/cm.yaml": CM("other") }))));
    const artTwo = serve(await gz({ "apps/web/cm.yaml": CM("web"), "apps/other/cm.yaml": CM("other", "2") }));
    const two = rendered(await s.run(application(), artTwo));
    assert.equal(two.fresh, false);
    assert.equal(two.source.revision, artTwo.revision, "the new source is reported");
    assert.deepEqual(two.render, one.render, "with the last render");
    assert.deepEqual(s.o.stats, { renders: 1, cacheHits: 0, unchanged: 1 });
    const three = rendered(await s.run(application(), serve(await gz({ "apps/web/cm.yaml": CM("web", "3") }))));
    assert.equal(three.fresh, true);
    assert.notEqual(three.render.digest, one.render.digest);
  });

  void it("a render error is the input's: RenderFailed, remembered and not rendered again", async () => {
    const s = step("bad");
    const art = serve(await gz({ "apps/web/cm.yaml": "kind: [unclosed\n" }));
    const f = failed(await s.run(application(), art));
    assert.deepEqual([f.reason, f.fresh], [Reasons.renderFailed, true]);
    assert.match(f.message, /^apps\/web\/cm\.yaml:\d+: invalid YAML/);
    const again = failed(await s.run(application(), art));
    assert.deepEqual([again.message, again.fresh], [f.message, false]);
    assert.equal(s.o.stats.renders, 1);
  });

  void it("a render past its deadline is remembered across restarts under the same limits only", async () => {
    // 2,000 objects: even a warm worker takes far more than 1 ms.
    const many = Array.from({ length: 2000 }, (_, i) => CM(`web-${i}`)).join("---\n");
    const art = serve(await gz({ "apps/web/cm.yaml": many }));
    const f = failed(await step("deadline", { timeoutMs: 1 }).run(application(), art));
    assert.match(f.message, /took longer than 1 ms/);
    const restarted = step("deadline", { timeoutMs: 1 });
    assert.equal(failed(await restarted.run(application(), art)).fresh, false);
    assert.equal(restarted.o.stats.renders, 0);
    const raised = step("deadline", { limitsKey: "raised", memory: new RenderMemory(path.join(top, "deadline/renders"), "raised", ctx.log) });
    assert.equal(rendered(await raised.run(application(), art)).fresh, true, "new limits: tried again");
  });

  void it("a source artifact that cannot be had is a RetryError on SourceReady; one that is unsafe is ArtifactInvalid", async () => {
    const good = await gz({ "apps/web/cm.yaml": CM("web") });
    const retry = (e: unknown) => e instanceof RetryError && e.condition === ConditionTypes.sourceReady && e.reason === Reasons.artifactFetchFailed;
    await assert.rejects(step("src-digest").run(application(), serve(good, Buffer.from("other bytes"))), (e: unknown) => retry(e) && /has digest sha256:/.test((e as Error).message));
    await assert.rejects(step("src-404").run(application(), { ...serve(good), url: `${base}/missing.tar.gz` }), (e: unknown) => retry(e) && /answered HTTP 404/.test((e as Error).message));
    await assert.rejects(step("src-down").run(application(), { ...serve(good), url: "http://127.0.0.1:1/x.tar.gz" }), retry);
    const evil = pack();
    evil.entry({ name: "../escape.yaml" }, CM("x"));
    evil.finalize();
    const chunks: Buffer[] = [];
    for await (const c of evil.pipe(createGzip())) chunks.push(c as Buffer);
    const f = failed(await step("src-unsafe").run(application(), serve(Buffer.concat(chunks))));
    assert.equal(f.reason, Reasons.artifactInvalid);
    assert.match(f.message, /\.\.\/escape\.yaml/);
  });

  void it("a storage failure is not the input's: a RetryError on Rendered, not remembered", async () => {
    const art = serve(await gz({ "apps/web/cm.yaml": CM("web") }));
    const s = step("full", { storage: new ArtifactStorage({ root: path.join(top, "full/storage"), maxBytes: 10 }) });
    const full = (e: unknown) => e instanceof RetryError && e.condition === ConditionTypes.rendered && e.reason === Reasons.storageOperationFailed;
    await assert.rejects(s.run(application(), art), full);
    await assert.rejects(s.run(application(), art), full);
    assert.equal(s.o.stats.renders, 2, "rendered again: the failure was not remembered");
  });

  void it("an input during whose render the process died twice is not rendered again; once, it is tried again", async () => {
    const art = serve(await gz({ "apps/web/cm.yaml": CM("web") }));
    const app = application();
    const key = renderCacheKey(art.digest, { namespace: "team-a", name: "web" }, app.spec, {});
    const crashDir = path.join(top, "crashed/crashes");
    // Two earlier processes, each dying in the middle of this render.
    await new RenderCrashJournal(crashDir).begin("team-a", "web", key, LIMITS);
    const s1 = step("crashed", { crashes: new RenderCrashJournal(crashDir) });
    assert.equal(rendered(await s1.run(app, art)).fresh, true, "one death: rendered again (alone)");
    assert.equal(await s1.o.crashes.crashed("team-a", "web", key, LIMITS), undefined, "and the marker is gone");
    await new RenderCrashJournal(crashDir).begin("team-a", "web", key, LIMITS);
    await new RenderCrashJournal(crashDir).begin("team-a", "web", key, LIMITS);
    const s2 = step("crashed2", { crashes: new RenderCrashJournal(crashDir) });
    const f = failed(await s2.run(app, art));
    assert.match(f.message, /^rendering this input stopped the operator 2 times/);
    assert.equal(s2.o.stats.renders, 0);
  });

  void it("asks what the cluster offers only for charts; a chart is rendered as an upgrade once applied, with the same key", async () => {
    helmBinary(); // the pinned helm: fails loudly when 'make tools' has not built it
    const chart = { "apps/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n", "apps/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n" };
    let asked = 0;
    const capabilities = { get: () => (asked++, Promise.resolve({ kubeVersion: "v1.31.0" })) };
    await step("caps-plain", { capabilities }).run(application(), serve(await gz({ "apps/web/cm.yaml": CM("web") })));
    assert.equal(asked, 0, "a plain render never asks");
    const art = serve(await gz(chart));
    const s = step("caps-chart", { capabilities });
    assert.deepEqual(data(s, await s.run(application(), art)), { upgrade: "false", kube: "v1.31.0" });
    assert.ok(asked >= 1);
    const applied = application({}, { sync: { lastAppliedAt: "2026-01-01T00:00:00Z" } } as App["status"]);
    assert.equal(appliedBefore(applied), true);
    assert.equal(rendered(await s.run(applied, art)).fresh, false, "applying changes no input: the install render stands");
    const upgrade = step("caps-upgrade", { capabilities });
    assert.deepEqual(data(upgrade, await upgrade.run(applied, art)), { upgrade: "true", kube: "v1.31.0" });
    const down = step("caps-down", { capabilities: { get: () => Promise.reject(new Error("discovery is down")) } });
    assert.deepEqual(data(down, await down.run(application(), art)), { upgrade: "false", kube: DEFAULT_KUBE_VERSION }, "the defaults");
    assert.ok(logged.some((l) => l.includes("discovery is down")), "the failed discovery is logged");
  });

  void it("renderedKey and appliedBefore", () => {
    assert.deepEqual(renderedKey("ns", "app"), { kind: "Application", namespace: "ns", name: "app" });
    assert.equal(appliedBefore({}), false);
    assert.equal(appliedBefore({ status: { sync: { inventory: [] } } } as Parameters<typeof appliedBefore>[0]), false);
    assert.equal(appliedBefore({ status: { sync: { inventory: [{ v: "v1", k: "ConfigMap", n: "a" }] } } } as unknown as Parameters<typeof appliedBefore>[0]), true);
  });
});

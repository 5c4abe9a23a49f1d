// Git server faults (issue 17, part 4): the GitRepository's server fails (an error status, a reset connection),
// is slower than spec.timeout, answers garbage (a garbage ref advertisement, random bytes for a pack, a pack with
// corrupted bytes inside a well-framed answer, a pack cut off halfway), rewrites history (a force-push of an
// unrelated history, a force-push back to an older commit), deletes the branch, or serves a commit that renders
// nothing. For each fault: the last good artifact is kept and served (digest checked), the status says why
// (FetchFailed with the reason, or the Application's refusal), and the cluster is untouched; once the server
// behaves, the cluster converges exactly to what the branch says (test/support/fault-env.ts expectExact).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { KubeObject } from "../../src/runtime/index.js";
import { revision } from "../support/fault-content.js";
import { condOf, describeConds, exactProblems, expectExact, expectFetchFailed, idOf, manifests, startFaultEnv, type FaultEnv } from "../support/fault-env.js";
import { GitFaultProxy, type GitFault } from "../support/fault-git.js";
import { faultSeed } from "../support/fault-rng.js";
import { git, type TestRepo } from "../support/git-server.js";

const rng = faultSeed("test/faults/git-server.test.ts");
let env: FaultEnv;
let proxy: GitFaultProxy;
let repo: TestRepo;
let current: KubeObject[] = [];
let sha = "";
const kept = new Set<string>();
const figures: Record<string, { detectMs: number; recoverMs: number; message: string }> = {};

async function commitNext(padBytes = 0): Promise<KubeObject[]> {
  const next = revision(rng.fork(), current);
  for (const o of next) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  sha = await repo.commit({ "app/objects.yaml": manifests(next), "pad.bin": randomBytes(padBytes) });
  return next;
}

const exact = (objects: readonly KubeObject[], at = sha, timeoutMs = 120_000) => expectExact(env, "gs", objects, { sha: at, allowedExtra: kept, timeoutMs });

/** The cluster still holds exactly the last good commit (checked twice, a second apart). */
async function untouched(objects: readonly KubeObject[], at: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(await exactProblems(env, "gs", objects, { sha: at, allowedExtra: kept }), [], "the cluster is untouched while the source fails");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Commits a new revision, turns `fault` on and asks for a fetch: FetchFailed (matching `reason`) with the last good
 * artifact served and the cluster untouched; then the fault off: exact convergence, FetchFailed gone.
 */
async function serverFault(name: string, fault: GitFault | { on: () => void; off: () => void }, reason: RegExp, padBytes = 16 * 1024): Promise<void> {
  const good = sha;
  const goodObjects = current;
  const next = await commitNext(padBytes);
  const on = "on" in fault ? fault.on : () => (proxy.fault = fault);
  const off = "off" in fault ? fault.off : () => (proxy.fault = { kind: "none" });
  on();
  let g;
  const t0 = Date.now();
  try {
    await env.requestReconcile("GitRepository", "src");
    g = await expectFetchFailed(env, "src", good, reason);
    await untouched(goodObjects, good);
  } finally {
    off();
  }
  const detectMs = Date.now() - t0;
  const ff = condOf(g, "FetchFailed")!;
  const t1 = Date.now();
  await exact(next);
  const recoverMs = Date.now() - t1;
  assert.equal(condOf(await env.getRepo("src"), "FetchFailed"), undefined, "FetchFailed is removed by the next good fetch");
  figures[name] = { detectMs, recoverMs, message: `${ff.reason}: ${ff.message}` };
  console.log(`# ${name}: ${ff.reason}: ${ff.message} (seen ${detectMs} ms after the request; exact ${recoverMs} ms after the server behaved)`);
  current = next;
}

before(async () => {
  env = await startFaultEnv({ prefix: "fault-git" });
  proxy = await GitFaultProxy.start(env.git.baseUrl);
  repo = await env.git.createRepo("gs");
  current = revision(rng.fork(), undefined);
  for (const o of current) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  sha = await repo.commit({ "app/objects.yaml": manifests(current) }, "initial");
  await env.createGitRepository("src", proxy.url("gs"), { timeout: "5s", interval: "30s" });
  await env.createApplication("gs", { sourceRef: { kind: "GitRepository", name: "src" }, path: "app", interval: "10m" });
  await exact(current);
});

after(async () => {
  console.log(`# git-server figures: ${JSON.stringify(figures)}`);
  await env?.close();
  await proxy?.close();
});

void describe("git server faults: the last good artifact is kept and served, status says why, the cluster is untouched", { timeout: 900_000 }, () => {
  void it("the server answers 500", () => serverFault("status-500", { kind: "status", status: 500 }, /500/));
  void it("the server resets the connection", () => serverFault("reset", { kind: "reset" }, /reset|ECONNRESET|socket hang up|Unreachable/i));
  void it("the server is slower than spec.timeout", () => serverFault("slow", { on: () => (env.git.delayMs = 8_000), off: () => (env.git.delayMs = 0) }, /timeout|Timeout/));
  void it("the ref advertisement is garbage", () => serverFault("garbage-refs", { kind: "garbage-refs" }, /./));
  void it("the pack is random bytes", () => serverFault("garbage-pack", { kind: "garbage-pack" }, /./));
  void it("the pack is corrupted inside a well-framed answer", () => serverFault("corrupt-pack", { kind: "corrupt-pack" }, /pack|invalid|checksum|inflate|zlib|corrupt/i, 64 * 1024));
  void it("the pack is cut off halfway", () => serverFault("truncated-pack", { kind: "truncated-pack" }, /./, 64 * 1024));

  void it("a force-push of an unrelated history: the cluster follows the branch exactly (prunes what the new history lacks)", async () => {
    const next = revision(rng.fork(), current);
    for (const o of next) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
    await repo.git(["checkout", "-q", "--orphan", "rewritten"]);
    await repo.git(["rm", "-rq", "--cached", "."]);
    sha = await repo.commit({ "app/objects.yaml": manifests(next), "pad.bin": null }, "rewritten history");
    await repo.git(["branch", "-M", "main"]);
    await repo.git(["push", "-q", "-f", "origin", "main:main"]);
    await repo.git(["push", "-q", "origin", ":rewritten"]);
    const t = Date.now();
    await env.requestReconcile("GitRepository", "src");
    await exact(next);
    console.log(`# force-push (unrelated history): exact ${Date.now() - t} ms after the request`);
    current = next;
  });

  void it("a force-push back to an older commit: the cluster goes back exactly, and history records it", async () => {
    const older = sha;
    const olderObjects = current;
    const newer = await commitNext();
    await env.requestReconcile("GitRepository", "src");
    await exact(newer);
    await repo.git(["reset", "-q", "--hard", older]);
    await repo.git(["push", "-q", "-f", "origin", "HEAD:main"]);
    sha = older;
    const t = Date.now();
    await env.requestReconcile("GitRepository", "src");
    await exact(olderObjects, older);
    console.log(`# force-push (rollback): exact ${Date.now() - t} ms after the request`);
    current = olderObjects;
  });

  void it("the branch is deleted: the fetch fails naming the ref, the last good artifact is served, the cluster untouched; it converges once the branch is back", async () => {
    const good = sha;
    // The bare repository's HEAD names main: let git delete it anyway, as a hosting service's branch deletion does.
    await git(repo.bareDir, ["config", "receive.denyDeleteCurrent", "ignore"]);
    // Another branch stays: the repository is not empty, only the branch the GitRepository follows is gone.
    await repo.git(["push", "-q", "origin", "HEAD:refs/heads/keep"]);
    await repo.git(["push", "-q", "origin", ":main"]);
    await env.requestReconcile("GitRepository", "src");
    const g = await expectFetchFailed(env, "src", good, /main|ref|branch/i);
    console.log(`# deleted branch: ${condOf(g, "FetchFailed")?.reason}: ${condOf(g, "FetchFailed")?.message}; Ready: ${condOf(g, "Ready")?.status} ${condOf(g, "Ready")?.reason}`);
    await untouched(current, good);
    const next = await commitNext();
    await repo.git(["push", "-q", "origin", "HEAD:main"]);
    // The push event (a webhook) asks for a fetch.
    await env.requestReconcile("GitRepository", "src");
    await exact(next);
    current = next;
  });

  void it("a commit that renders nothing is refused, not applied as 'delete everything'; the next good commit converges", async () => {
    const good = sha;
    sha = await repo.commit({ "app/objects.yaml": "# emptied by mistake\n" }, "empty");
    await env.requestReconcile("GitRepository", "src");
    const a = await env.converge("the empty render refused", async () => {
      const app = await env.getApp("gs");
      const synced = condOf(app, "Synced");
      if (synced?.status === "False" && /no objects/.test(synced.message ?? "")) return app;
      throw new Error(describeConds(app));
    });
    console.log(`# empty render: Synced=${condOf(a, "Synced")?.status} ${condOf(a, "Synced")?.reason}: ${condOf(a, "Synced")?.message?.slice(0, 160)}`);
    // Everything applied is still there, the inventory intact.
    const live = new Set((await env.labelled("gs")).map((o) => idOf(o, env.ns.name)));
    for (const o of current) assert.ok(live.has(idOf(o, env.ns.name)), `${o.kind} ${o.metadata!.name} is still applied`);
    assert.equal(a?.status?.sync?.inventory?.length, current.length);
    assert.ok(a?.status?.sync?.revision?.endsWith(good), "the applied revision is still the last good one");
    const next = await commitNext();
    await env.requestReconcile("GitRepository", "src");
    await exact(next);
    current = next;
  });
});

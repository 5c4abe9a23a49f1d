// History and rollback end to end, against the real controllers: a real git server (git http-backend) serves a
// repository whose commits have their own authors and messages; the real operator (source, render and apply
// controllers) syncs an Application with spec.historyLimit 3; the test pushes commits and runs the real `mooring`
// entry point (src/cli/main.ts) as a subprocess. No Mooring status is written by the test: every status and event it
// reads is one a controller wrote.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ApplicationKind, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { deleteWhileRunning, quietly } from "../../support/cleanup.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { describeRun, mooringCli, type CliResult } from "../../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const CONVERGE_MS = 180_000;
const STEP = { timeout: 900_000 };

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Commit {
  author: string;
  committer?: string;
  message: string;
  time: string;
}
interface Entry {
  id?: number;
  revision: string;
  digest?: string;
  phase: string;
  trigger?: string;
  commit?: Commit;
  url?: string;
  changes?: { created: number; configured: number; unchanged: number; pruned: number; failed?: number };
}
interface Status {
  conditions?: Cond[];
  artifact?: { revision: string; commit?: Commit };
  render?: { artifact?: { revision: string; digest: string; commit?: Commit } };
  sync?: { revision?: string };
  history?: Entry[];
  rollback?: { revision: string; digest: string; id?: number; phase: string; until: string; message?: string };
  lastHandledReconcileAt?: string;
}
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Status; data?: Record<string, string> };

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let git: GitServer;
let repo: TestRepo;
let operator: RunningOperator | undefined;
/** Commit SHAs by step (c1…), and the author each was made as. */
const sha: Record<string, string> = {};
const AUTHORS: Record<string, string> = { c1: "Ann Author <ann@example.com>", c2: "Bo Builder <bo@example.com>", c3: "Cy Coder <cy@example.com>", c4: "Di Dev <di@example.com>", c5: "Ed Eng <ed@example.com>", c6: "Fi Fixer <fi@example.com>", c7: "Gu Gardener <gu@example.com>" };

const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

/** Writes the files, commits them as `author` (the committer stays the server's Test identity) and pushes. */
async function commitAs(step: string, files: Record<string, string | null>, subject: string): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(repo.workDir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if (content === null) await repo.git(["rm", "-q", rel]);
    else await writeFile(abs, content);
  }
  await repo.git(["add", "-A"]);
  await repo.git(["commit", "-q", `--author=${AUTHORS[step]}`, `--date=2025-0${Object.keys(sha).length + 1}-02T03:04:05Z`, "-m", `${subject}\n\nWhy: step ${step}.`]);
  await repo.push();
  sha[step] = await repo.head();
  return sha[step];
}

const getApp = (name: string) => kube.client.get<Obj>(ApplicationKind, name, ns.name);
const getCm = (name: string) => kube.client.get<Obj>({ apiVersion: "v1", kind: "ConfigMap" }, name, ns.name);
const condOf = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const describeConds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");
const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(40)}` : "");

async function converge<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = CONVERGE_MS): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

function untilApp(name: string, what: string, ok: (a: Obj) => boolean): Promise<Obj> {
  return converge(`Application ${ns.name}/${name}: ${what}`, async () => {
    const a = await getApp(name);
    if (a && ok(a)) return a;
    throw new Error(`render ${a?.status?.render?.artifact?.revision ?? "none"}, sync ${a?.status?.sync?.revision ?? "none"}, history ${JSON.stringify((a?.status?.history ?? []).map((e) => [e.id, e.trigger, e.phase, e.revision.slice(-7)]))}; ${describeConds(a)}`);
  });
}

const syncedAt = (step: string) => (a: Obj) => condOf(a, "Ready")?.status === "True" && (a.status?.sync?.revision ?? "").endsWith(sha[step]!) && a.status?.history?.[0]?.phase === "Succeeded";

function mooring(args: string[]): Promise<CliResult> {
  return mooringCli([...args, "--kubeconfig", c.kubeconfigPath, "-n", ns.name]);
}
async function expectExit(args: string[], code: number): Promise<CliResult> {
  const r = await mooring(args);
  assert.equal(r.code, code, `${describeRun(args, r)}${opTail()}`);
  return r;
}

/** Asks the source controller to fetch now, and waits until the Application's render shows `step`'s commit. */
async function fetchAndRender(step: string): Promise<void> {
  await expectExit(["reconcile", "gitrepository", "apps", "--wait", "--timeout", "3m"], 0);
  await untilApp("web", `rendered ${step}`, (a) => (a.status?.render?.artifact?.revision ?? "").endsWith(sha[step]!));
}

const entryOf = (a: Obj, step: string, trigger = "automated") => a.status!.history!.find((e) => e.revision.endsWith(sha[step]!) && (e.trigger ?? "") === trigger);
const httpStatus = async (url: string) => (await fetch(url)).status;

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "hist");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "default-edit", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  git = await GitServer.start();
  repo = await git.createRepo("apps", { files: { "README.md": "# apps\n" } });
  await commitAs("c1", { "web/a.yaml": configMap("a", "v1") }, "Add a");
  // An interval of an hour: the test asks for each fetch (mooring reconcile).
  await kube.client.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "apps", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "1h" } } as KubeObject);
  await kube.client.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./web", historyLimit: 3 } } as KubeObject);
  await kube.client.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "sleepy", namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./web", suspend: true } } as KubeObject);
  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, logLevel: "info", readyTimeoutMs: 180_000 });
  await untilApp("web", "synced c1", syncedAt("c1"));
});

after(async () => {
  // Mooring's objects first, while the operator still runs to remove its finalizers.
  if (kube && ns) await deleteWhileRunning(kube, ns.name, [ApplicationKind, GitRepositoryKind]);
  if (operator) await quietly("stopping the operator", () => operator!.stop());
  if (git) await quietly("stopping the git server", () => git.close());
  kube?.close();
  await quietly("deleting the namespace", () => ns?.cleanup());
});

void describe("history you can audit, rollback, resume (real controllers, real git server, real CLI)", () => {
  let firstUrl = "";

  void it("each history entry carries the commit's author, committer, message and time from the git server, the trigger and the objects changed; events say the same", STEP, async () => {
    const a = (await getApp("web"))!;
    const e = entryOf(a, "c1")!;
    assert.ok(e, `no automated entry for c1: ${JSON.stringify(a.status?.history)}`);
    const logged = (await repo.git(["log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%cI%n%B", sha.c1!])).split("\n");
    assert.equal(e.commit?.author, AUTHORS.c1);
    assert.equal(e.commit?.author, logged[0]);
    assert.equal(e.commit?.committer, logged[1]);
    assert.equal(Date.parse(e.commit!.time), Date.parse(logged[2]!));
    assert.equal(e.commit?.message, "Add a\n\nWhy: step c1.");
    assert.equal(e.trigger, "automated");
    assert.equal(e.id, 1);
    assert.deepEqual(e.changes, { created: 1, configured: 0, unchanged: 0, pruned: 0 });
    assert.equal(e.digest, a.status?.render?.artifact?.digest);
    // The source's artifact is where it comes from.
    const src = (await kube.client.get<Obj>(GitRepositoryKind, "apps", ns.name))!;
    assert.deepEqual(src.status?.artifact?.commit, e.commit);
    firstUrl = e.url!;
    assert.equal(await httpStatus(firstUrl), 200);
    // The sync's event names the revision, the commit and the trigger.
    const events = await converge("a Succeeded event for the sync of c1", async () => {
      const list = await kube.client.list<KubeObject & { regarding?: { name?: string }; reason?: string; note?: string }>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: ns.name });
      const found = list.filter((x) => x.regarding?.name === "web" && x.reason === "Succeeded" && (x.note ?? "").includes(sha.c1!));
      return found.length ? found : undefined;
    });
    assert.match(events[0]!.note!, /^automated sync of revision main@sha1:[0-9a-f]{40} \("Add a" by Ann Author <ann@example\.com>\) succeeded: applied 1 object\(s\): 1 created/);
  });

  void it("keeps the rendered artifacts of the last spec.historyLimit entries and deletes older ones", STEP, async () => {
    await commitAs("c2", { "web/b.yaml": configMap("b", "v1") }, "Add b");
    await fetchAndRender("c2");
    await untilApp("web", "synced c2", syncedAt("c2"));
    await commitAs("c3", { "web/a.yaml": configMap("a", "v2") }, "Change a to v2");
    await fetchAndRender("c3");
    await untilApp("web", "synced c3", syncedAt("c3"));
    await commitAs("c4", { "web/c.yaml": configMap("c", "v1") }, "Add c");
    await fetchAndRender("c4");
    await untilApp("web", "synced c4", syncedAt("c4"));
    await commitAs("c5", { "web/a.yaml": configMap("a", "v3"), "web/d.yaml": configMap("d", "v1") }, "Change a to v3, add d");
    await fetchAndRender("c5");
    const a = await untilApp("web", "synced c5", syncedAt("c5"));
    const h = a.status!.history!;
    assert.deepEqual(h.map((e) => [e.id, e.revision.slice(-40)]), [[5, sha.c5], [4, sha.c4], [3, sha.c3]]);
    for (const e of h) assert.equal(await httpStatus(e.url!), 200, `entry #${e.id}'s artifact ${e.url} should be kept`);
    // c1's render left the history two syncs ago: collected by the next render.
    assert.equal(await httpStatus(firstUrl), 404, `the artifact of entry #1 (${firstUrl}) should be deleted`);
    const table = await expectExit(["history", "web"], 0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    assert.match(header!, /^ID\s+STARTED\s+TRIGGER\s+RESULT\s+REVISION\s+AUTHOR\s+COMMIT\s+CHANGES\s+ARTIFACT$/);
    assert.match(rows[0]!, /^5\s+\S+\s+automated\s+Succeeded\s+main@sha1:[0-9a-f]{12}\s+Ed Eng\s+Change a to v3, add d\s+\+1 ~1 =2 -0\s+kept$/);
    const json = JSON.parse((await expectExit(["history", "web", "-o", "json"], 0)).stdout) as Entry[];
    assert.deepEqual(json.map((e) => e.commit?.author), [AUTHORS.c5, AUTHORS.c4, AUTHORS.c3]);
  });

  void it("refuses bad rollbacks clearly: an unknown entry, a revision not kept, a suspended or missing Application", STEP, async () => {
    let r = await expectExit(["rollback", "web", "--to", "99"], 2);
    assert.match(r.stderr, /has no history entry #99; its history holds #5, #4, #3/);
    r = await expectExit(["rollback", "web", "--revision", sha.c1!.slice(0, 10)], 2);
    assert.match(r.stderr, new RegExp(`to revision ${sha.c1!.slice(0, 10)}: it is not in the history .*kept: #5 main@sha1:${sha.c5!.slice(0, 12)}, #4`));
    r = await expectExit(["rollback", "web", "--to", "two"], 2);
    assert.match(r.stderr, /--to must be a history entry id/);
    r = await expectExit(["rollback", "sleepy"], 2);
    assert.match(r.stderr, /Application \S+\/sleepy is suspended.*run 'mooring resume sleepy' first/);
    r = await expectExit(["rollback", "nope"], 2);
    assert.match(r.stderr, /Application \S+\/nope not found/);
    // None of them asked the controller for anything.
    const a = (await getApp("web"))!;
    assert.equal(a.metadata?.annotations?.["delivery.mooring.dev/rollback"], undefined);
  });

  void it("a rollback re-applies an earlier entry with prune, says so in status, and holds automation until resume", STEP, async () => {
    const r = await expectExit(["rollback", "web", "--to", "3", "--timeout", "3m"], 0);
    assert.match(r.stdout, /✔ rolled back: rolled back to revision main@sha1:[0-9a-f]{40} \(history entry #3\)/);
    assert.match(r.stdout, /0 created, 1 configured, 1 unchanged, 2 pruned/);
    // c and d came after c3: pruned; a is back at c3's v2; b stays.
    assert.equal(await getCm("c"), undefined);
    assert.equal(await getCm("d"), undefined);
    assert.equal((await getCm("a"))?.data?.value, "v2");
    assert.equal((await getCm("b"))?.data?.value, "v1");
    const a = (await getApp("web"))!;
    assert.equal(a.status?.rollback?.phase, "Succeeded");
    assert.equal(a.status?.rollback?.id, 3);
    assert.ok(a.status?.rollback?.revision.endsWith(sha.c3!));
    const rolled = condOf(a, "RolledBack");
    assert.equal(rolled?.status, "True");
    assert.match(rolled!.message!, /automated sync is held until 'mooring resume web'/);
    assert.match(condOf(a, "Ready")?.message ?? "", /rolled back, automated sync held/);
    assert.ok((a.status?.sync?.revision ?? "").endsWith(sha.c3!));
    const e = a.status!.history![0]!;
    assert.deepEqual([e.id, e.trigger, e.phase, e.commit?.author], [6, "rollback", "Succeeded", AUTHORS.c3]);

    // A new commit is fetched and rendered, and not synced.
    await commitAs("c6", { "web/e.yaml": configMap("e", "v1") }, "Add e");
    await fetchAndRender("c6");
    // The apply controller has handled the Application since the new render (its reconcile request answered).
    await expectExit(["reconcile", "application", "web", "--wait", "--timeout", "3m"], 0);
    const held = (await getApp("web"))!;
    assert.equal(await getCm("e"), undefined, "the new commit must not be synced while the rollback holds");
    assert.ok((held.status?.sync?.revision ?? "").endsWith(sha.c3!));
    assert.equal(held.status?.history?.[0]?.id, 6);

    // resume: the hold ends, the new commit is synced (c, d and e back), status no longer says rolled back.
    const res = await expectExit(["resume", "web"], 0);
    assert.match(res.stdout, /resumed: the rollback's hold ended/);
    const back = await untilApp("web", "synced c6 after resume", syncedAt("c6"));
    for (const n of ["c", "d", "e"]) assert.ok(await getCm(n), `${n} should be applied again`);
    assert.equal(back.status?.rollback, undefined);
    assert.equal(condOf(back, "RolledBack"), undefined);
    assert.equal(back.status?.history?.[0]?.trigger, "automated");
  });

  void it("--until new-revision: the next commit ends the hold and is synced; sync --wait -o json reports the result", STEP, async () => {
    const r = await expectExit(["rollback", "web", "--revision", sha.c5!.slice(0, 8), "--until", "new-revision", "-o", "json"], 0);
    const doc = JSON.parse(r.stdout) as { result: string; target: { revision: string }; entry?: Entry };
    assert.equal(doc.result, "Succeeded");
    assert.ok(doc.target.revision.endsWith(sha.c5!));
    assert.equal(doc.entry?.trigger, "rollback");
    assert.equal(await getCm("e"), undefined);
    await commitAs("c7", { "web/f.yaml": configMap("f", "v1") }, "Add f");
    await fetchAndRender("c7");
    const a = await untilApp("web", "synced c7: the new revision released the hold", syncedAt("c7"));
    assert.equal(a.status?.rollback?.phase, "Released");
    assert.equal(condOf(a, "RolledBack")?.reason, "RollbackReleased");
    assert.ok(await getCm("f"));
    const s = await expectExit(["sync", "web", "-o", "json", "--timeout", "3m"], 0);
    const result = JSON.parse(s.stdout) as { result: string; changes?: Entry["changes"]; health: { status: string } };
    assert.equal(result.result, "Succeeded");
    assert.deepEqual(result.changes, { created: 0, configured: 0, unchanged: 6, pruned: 0 });
    assert.match(s.stderr, /► sync of Application \S+\/web requested/);
  });

  void it("an annotation the controller cannot read holds every sync and says why, until resume", STEP, async () => {
    await kube.client.patch({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: ns.name } }, { metadata: { annotations: { "delivery.mooring.dev/rollback": "not json" } } }, "merge");
    const a = await untilApp("web", "RolledBack=False, the annotation refused", (x) => condOf(x, "RolledBack")?.reason === "RollbackFailed");
    assert.match(condOf(a, "RolledBack")!.message!, /the annotation delivery\.mooring\.dev\/rollback is not JSON.*automated sync is held while the request stands/);
    await expectExit(["resume", "web", "-o", "json"], 0);
    await untilApp("web", "RolledBack gone after resume", (x) => condOf(x, "RolledBack") === undefined && condOf(x, "Ready")?.status === "True");
  });
});

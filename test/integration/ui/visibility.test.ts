// Who sees what in the web UI (src/ui/visibility.ts), against the real API server's RBAC: `mooring ui` runs through
// the real entry point over all namespaces, once with users named by a trusted proxy's header and once with token
// sign-in (read-only, as the chart installs it). Two users each have a Role for Mooring's kinds in one namespace and
// an Application there: each one's event stream lists only their own, the other's detail and diff are 404 (as if
// absent); a user bound cluster-wide sees both; a user granted a namespace while their stream is open gets a new
// snapshot with it within the answers' lifetime (30 s) plus a recheck; an Application appearing in a namespace the
// stream never asked about is reviewed at once. No operator runs: the UI lists the objects as they are.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import type { AppSummary, StreamMessage } from "../../../src/ui/model.js";
import { quietly } from "../../support/cleanup.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startUi, type RunningUi } from "../../support/ui.js";
import { waitFor } from "../../support/wait.js";

const STEP = { timeout: 300_000 };
const RBAC = "rbac.authorization.k8s.io/v1";
const id = randomBytes(3).toString("hex");
const [ann, ben, carol, dan] = ["ann", "ben", "carol", "dan"].map((u) => `${u}-${id}`) as [string, string, string, string];
const MOORING = [{ apiGroups: ["delivery.mooring.dev", "source.mooring.dev"], resources: ["*"], verbs: ["get", "list", "watch"] }];

let c: TestCluster;
let kube: Kube;
let nsA: TestNamespace;
let nsB: TestNamespace;
let nsC: TestNamespace | undefined;
let proxied: RunningUi;
let tokened: RunningUi;
const uis: RunningUi[] = [];
const streams: Stream[] = [];

const app = (ns: string, name: string): KubeObject => ({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: ns }, spec: { sourceRef: { kind: "GitRepository", name: "nowhere" }, path: "./" } }) as KubeObject;
const subject = (user: string) => ({ kind: "User", name: user, apiGroup: "rbac.authorization.k8s.io" });

/** A Role for Mooring's kinds in `ns`, bound to `subjects`. */
async function grant(ns: string, name: string, subjects: object[]): Promise<void> {
  await kube.client.create({ apiVersion: RBAC, kind: "Role", metadata: { name, namespace: ns }, rules: MOORING } as KubeObject);
  await kube.client.create({ apiVersion: RBAC, kind: "RoleBinding", metadata: { name, namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name }, subjects } as KubeObject);
}

/** An open /api/stream, its messages parsed as they come. */
class Stream {
  readonly messages: StreamMessage[] = [];
  status = 0;
  private readonly ac = new AbortController();

  constructor(url: string, headers: Record<string, string>) {
    void fetch(`${url}/api/stream`, { headers, signal: this.ac.signal })
      .then(async (r) => {
        this.status = r.status;
        let buf = "";
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString("utf8");
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            for (const line of block.split("\n")) if (line.startsWith("data: ")) this.messages.push(JSON.parse(line.slice(6)) as StreamMessage);
          }
        }
      })
      .catch(() => undefined);
    streams.push(this);
  }

  /** The rows as the page holds them now (the last snapshot, then the changes after it). */
  rows(): Set<string> {
    const rows = new Map<string, AppSummary>();
    for (const m of this.messages) {
      if (m.type === "snapshot") {
        rows.clear();
        for (const a of m.apps) rows.set(a.key, a);
      } else {
        for (const a of m.apps) rows.set(a.key, a);
        for (const k of m.appsDeleted) rows.delete(k);
      }
    }
    return new Set(rows.keys());
  }

  snapshots(): number {
    return this.messages.filter((m) => m.type === "snapshot").length;
  }

  async until(what: string, ok: (rows: Set<string>) => boolean, timeoutMs = 30_000): Promise<Set<string>> {
    return waitFor(what, () => (ok(this.rows()) && this.snapshots() > 0 ? this.rows() : false), { timeoutMs, intervalMs: 200 }).catch((err: Error) => {
      throw new Error(`${err.message}; rows: ${[...this.rows()].join(", ")}`, { cause: err });
    });
  }

  close(): void {
    this.ac.abort();
  }
}

const as = (user: string) => ({ "X-Forwarded-User": user, "X-Forwarded-Groups": "staff" });
const get = async (ui: RunningUi, path: string, headers: Record<string, string>) => (await fetch(`${ui.url}${path}`, { headers })).status;

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  kube = connect({ kubeconfig: c.kubeconfigPath });
  [nsA, nsB] = await Promise.all([createTestNamespace(c, "vis-a"), createTestNamespace(c, "vis-b")]);
  await kube.client.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: nsA.name } } as KubeObject);
  await grant(nsA.name, "mooring-reader", [subject(ann), { kind: "ServiceAccount", name: "reader", namespace: nsA.name }]);
  await grant(nsB.name, "mooring-reader", [subject(ben)]);
  await kube.client.create({ apiVersion: RBAC, kind: "ClusterRole", metadata: { name: `mooring-viewer-${id}` }, rules: MOORING } as KubeObject);
  await kube.client.create({ apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: `mooring-viewer-${id}` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `mooring-viewer-${id}` }, subjects: [subject(carol)] } as KubeObject);
  await kube.client.create(app(nsA.name, "app-a"));
  await kube.client.create(app(nsB.name, "app-b"));
  [proxied, tokened] = await Promise.all([startUi(c.kubeconfigPath, ["--auth=proxy", "--trusted-proxy=127.0.0.1"]), startUi(c.kubeconfigPath, ["--auth=token", "--read-only"])]);
  uis.push(proxied, tokened);
});

after(async () => {
  for (const s of streams) s.close();
  for (const u of uis) await quietly("stopping a UI", () => u.stop());
  if (kube) {
    for (const kind of ["ClusterRoleBinding", "ClusterRole"]) await quietly(`deleting the ${kind}`, () => kube.client.delete({ apiVersion: RBAC, kind, metadata: { name: `mooring-viewer-${id}` } }));
    kube.close();
  }
  for (const ns of [nsA, nsB, nsC]) if (ns) await quietly(`deleting ${ns.name}`, () => ns.cleanup());
});

void describe("the web UI shows each user what their RBAC lets them list", () => {
  void it("two users with a namespace each: each stream lists only its own Application; the other's detail and diff are 404; a cluster-wide viewer sees both", STEP, async () => {
    const a = new Stream(proxied.url, as(ann));
    const b = new Stream(proxied.url, as(ben));
    const all = new Stream(proxied.url, as(carol));
    const rowsA = await a.until("ann's snapshot", (r) => r.has(`${nsA.name}/app-a`));
    const rowsB = await b.until("ben's snapshot", (r) => r.has(`${nsB.name}/app-b`));
    assert.deepEqual([...rowsA], [`${nsA.name}/app-a`], "ann sees her namespace's Application only");
    assert.deepEqual([...rowsB], [`${nsB.name}/app-b`], "ben sees his namespace's Application only");
    await all.until("carol's snapshot with both", (r) => r.has(`${nsA.name}/app-a`) && r.has(`${nsB.name}/app-b`));
    assert.equal(await get(proxied, `/api/apps/${nsA.name}/app-a`, as(ann)), 200);
    assert.equal(await get(proxied, `/api/apps/${nsB.name}/app-b`, as(ann)), 404, "ben's Application is absent for ann");
    assert.equal(await get(proxied, `/api/apps/${nsB.name}/app-b/diff`, as(ann)), 404, "and its diff");
    assert.equal(await get(proxied, `/api/apps/${nsA.name}/app-a`, as(ben)), 404);
    assert.equal(await get(proxied, `/api/apps/${nsB.name}/app-b`, as(carol)), 200);
    // A change of ben's Application reaches ben, not ann (her stream gets nothing of it).
    const before = a.messages.length;
    await kube.client.patch({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "app-b", namespace: nsB.name } }, { metadata: { labels: { touched: "yes" } } }, "merge");
    await waitFor("ben's stream to get the change", () => b.messages.some((m) => m.type === "changes" && m.apps.some((x) => x.key === `${nsB.name}/app-b` && x.labels.touched === "yes")), { timeoutMs: 30_000, intervalMs: 200 });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!JSON.stringify(a.messages.slice(before)).includes("app-b"), `ann's stream named ben's Application: ${JSON.stringify(a.messages.slice(before))}`);
  });

  void it("token sign-in (read-only, no impersonation): a ServiceAccount sees its namespace only", STEP, async () => {
    const tr = await kube.client.rest.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${nsA.name}/serviceaccounts/reader/token`, { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } } });
    const bearer = { Authorization: `Bearer ${tr.status.token}` };
    const s = new Stream(tokened.url, bearer);
    assert.deepEqual([...(await s.until("the reader's snapshot", (r) => r.size > 0))], [`${nsA.name}/app-a`]);
    assert.equal(await get(tokened, `/api/apps/${nsA.name}/app-a`, bearer), 200);
    assert.equal(await get(tokened, `/api/apps/${nsB.name}/app-b`, bearer), 404);
  });

  void it("rights granted later: a new snapshot with the namespace within the answers' lifetime; a new namespace is asked about at once", STEP, async () => {
    const d = new Stream(proxied.url, as(dan));
    await waitFor("dan's first snapshot", () => d.snapshots() > 0, { timeoutMs: 30_000, intervalMs: 200 });
    assert.deepEqual([...d.rows()], [], "dan may list nothing: sees nothing");
    await grant(nsB.name, `dan-${id}`, [subject(dan)]);
    const t0 = Date.now();
    await d.until("dan's stream to show ben's namespace after the grant", (r) => r.has(`${nsB.name}/app-b`), 60_000);
    assert.ok(Date.now() - t0 <= 45_000, `seen after ${Date.now() - t0} ms (answers live 30 s, rechecked every 10 s)`);
    assert.equal(await get(proxied, `/api/apps/${nsB.name}/app-b`, as(dan)), 200);
    // A namespace the UI holds nothing of yet: dan may read it before its first Application appears.
    const created = await createTestNamespace(c, "vis-c");
    nsC = created;
    await grant(created.name, `dan-${id}`, [subject(dan)]);
    const a = new Stream(proxied.url, as(ann));
    await a.until("ann's snapshot", (r) => r.has(`${nsA.name}/app-a`));
    const t1 = Date.now();
    await kube.client.create(app(created.name, "app-c"));
    await d.until("dan's stream to show the new namespace's Application", (r) => r.has(`${created.name}/app-c`), 30_000);
    // Rechecks come every 10 s: 3 s means the Application's appearance itself asked about its namespace.
    assert.ok(Date.now() - t1 < 3_000, `the new namespace was reviewed when its Application appeared, not at the next recheck (${Date.now() - t1} ms)`);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(!a.rows().has(`${created.name}/app-c`), "ann, who may not read it, does not get it");
  });
});

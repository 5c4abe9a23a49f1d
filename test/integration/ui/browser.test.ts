// The web UI in a real browser (Debian's chromium, driven by playwright-core) against the real controllers: a git
// server on loopback serves the repository, the operator runs as a process (source, render, apply) watching this
// test's namespace, and `mooring ui` runs through the real entry point three times: local (the kubeconfig's rights,
// actions on), proxy (users named by a trusted proxy's header) and token (TokenReview sign-in, read-only).
// No status is written by the test: every state the pages show is one a controller wrote.
// Screenshots go to $MOORING_UI_SCREENSHOTS (docs/ui when docs are refreshed), else to a temporary directory.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { Annotations, ApplicationKind, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { quietly } from "../../support/cleanup.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { launchBrowser, newPage, startUi, type RunningUi } from "../../support/ui.js";
import { waitFor } from "../../support/wait.js";

// What the functions passed to page.evaluate use: they run in the page, whose DOM types this Node program lacks.
declare const document: any;
declare const window: any;
declare const MutationObserver: any;
declare const getComputedStyle: any;
type HTMLInputElement = any;
type Element = any;

const run = promisify(execFile);
const CONVERGE_MS = 240_000;
const STEP = { timeout: 600_000 };

type Obj = KubeObject & { spec?: any; status?: any };

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let git: GitServer;
let repo: TestRepo;
let operator: RunningOperator | undefined;
const uis: RunningUi[] = [];
let local: RunningUi;
let proxied: RunningUi;
let tokened: RunningUi;
let browser: Browser;
let shots = "";
let firstSha = "";
let secondSha = "";

const configMap = (name: string, color: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  color: ${color}\n`;
// Scheduled nowhere (no node has the label): never available, so the rollout exceeds its progress deadline.
const stuckDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector:
    matchLabels: { app: stuck }
  template:
    metadata:
      labels: { app: stuck }
    spec:
      nodeSelector: { mooring.dev/no-such-node: "true" }
      containers:
        - name: app
          image: registry.invalid/stuck:1
`;

const FILES = {
  "web/configmap.yaml": configMap("web-config", "blue"),
  "gated/configmap.yaml": configMap("gated-config", "blue"),
  "drift/configmap.yaml": configMap("drift-cm", "blue"),
  "degraded/deployment.yaml": stuckDeployment,
};

const obj = (apiVersion: string, kind: string, name: string, rest: Record<string, unknown>): Obj => ({ apiVersion, kind, metadata: { name, namespace: ns.name }, ...rest });
const app = (name: string, spec: Record<string, unknown>) => obj("delivery.mooring.dev/v1alpha1", "Application", name, { spec: { sourceRef: { kind: "GitRepository", name: "apps" }, ...spec } });
const getApp = (name: string) => kube.client.get<Obj>(ApplicationKind, name, ns.name);
const cond = (o: Obj | undefined, type: string) => (o?.status?.conditions as { type: string; status: string; reason?: string; message?: string }[] | undefined)?.find((x) => x.type === type);
const describe1 = (o: Obj | undefined) => (o ? `sync ${JSON.stringify(o.status?.sync?.status)} ${o.status?.sync?.revision ?? ""}; ${(o.status?.conditions ?? []).map((x: any) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ")}` : "not found");
const opTail = () => (operator ? `\n--- operator log ---\n${operator.tail(30)}` : "") + (local ? `\n--- ui log ---\n${local.tail(15)}` : "");

async function untilApp(name: string, what: string, ok: (a: Obj) => boolean): Promise<Obj> {
  try {
    return await waitFor(`Application ${name}: ${what}`, async () => {
      const a = await getApp(name);
      if (a && ok(a)) return a;
      throw new Error(describe1(a));
    }, { timeoutMs: CONVERGE_MS, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

/** Waits for a selector in the page, with the page's text in the failure (what the user would have seen). */
async function see(page: Page, selector: string, what: string, timeout = CONVERGE_MS): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout });
  } catch (err) {
    const text = (await page.textContent("main").catch(() => "")) ?? "";
    throw new Error(`the page never showed ${what} (${selector}); it showed:\n${text.slice(0, 2000)}${opTail()}`, { cause: err });
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

const appRow = (name: string) => `tr[data-key="${ns.name}/${name}"]`;

before(async () => {
  shots = process.env.MOORING_UI_SCREENSHOTS ? path.resolve(process.env.MOORING_UI_SCREENSHOTS) : await mkdtemp(path.join(os.tmpdir(), "mooring-ui-shots-"));
  await mkdir(shots, { recursive: true });
  browser = await launchBrowser();
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "ui");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  const rbac = "rbac.authorization.k8s.io/v1";
  await kube.client.create(obj(rbac, "RoleBinding", "default-edit", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }] }));
  // Readers: may look at Applications and policies, may change nothing.
  await kube.client.create(obj(rbac, "Role", "mooring-reader", { rules: [{ apiGroups: ["delivery.mooring.dev", "source.mooring.dev"], resources: ["*"], verbs: ["get", "list", "watch"] }] }));
  await kube.client.create(obj(rbac, "RoleBinding", "readers", { roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "mooring-reader" }, subjects: [{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }, { kind: "ServiceAccount", name: "ui-reader", namespace: ns.name }] }));
  await kube.client.create(obj("v1", "ServiceAccount", "ui-reader", {}));

  git = await GitServer.start();
  repo = await git.createRepo("apps", { files: FILES });
  firstSha = await repo.head();
  await kube.client.create(obj("delivery.mooring.dev/v1alpha1", "SyncPolicy", "manual", { spec: { automated: { enabled: false } } }));
  await kube.client.create(obj("delivery.mooring.dev/v1alpha1", "SyncPolicy", "detect-only", { spec: { automated: { enabled: true, selfHeal: false } } }));
  await kube.client.create(
    obj("delivery.mooring.dev/v1alpha1", "SyncPolicy", "nightly", {
      spec: {
        windows: [
          { kind: "deny", schedule: "0 22 * * *", duration: "8h" },
          { kind: "allow", schedule: "0 9 * * 1-5", duration: "8h", manualSync: true },
        ],
      },
    }),
  );
  await kube.client.create(obj("source.mooring.dev/v1alpha1", "GitRepository", "apps", { spec: { url: repo.url, ref: { branch: "main" }, interval: "1h" } }));
  await kube.client.create(app("web", { path: "./web" }));
  await kube.client.create(app("gated", { path: "./gated", syncPolicyRef: { name: "manual" } }));
  await kube.client.create(app("drifty", { path: "./drift", syncPolicyRef: { name: "detect-only" } }));
  await kube.client.create(app("degraded", { path: "./degraded", timeout: "20s" }));

  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, logLevel: "info", readyTimeoutMs: 180_000 });
  [local, proxied, tokened] = await Promise.all([
    startUi(c.kubeconfigPath, ["-n", ns.name]),
    startUi(c.kubeconfigPath, ["-n", ns.name, "--auth=proxy", "--trusted-proxy=127.0.0.1"]),
    startUi(c.kubeconfigPath, ["-n", ns.name, "--auth=token", "--read-only"]),
  ]);
  uis.push(local, proxied, tokened);

  await untilApp("web", `Ready at ${firstSha}`, (a) => cond(a, "Ready")?.status === "True" && String(a.status?.sync?.revision).endsWith(firstSha));
  await untilApp("drifty", `Ready at ${firstSha}`, (a) => cond(a, "Ready")?.status === "True");
  await untilApp("gated", "rendered and waiting for a manual sync", (a) => Boolean(a.status?.render?.artifact) && a.status?.sync?.status === "OutOfSync");
});

after(async () => {
  if (browser) await quietly("closing the browser", () => browser.close());
  for (const u of uis) await quietly("stopping a UI", () => u.stop());
  if (kube && ns) {
    for (const kind of [ApplicationKind, GitRepositoryKind]) {
      await quietly(`deleting ${kind.kind}s`, async () => {
        for (const o of await kube.client.list<Obj>(kind, { namespace: ns.name })) await kube.client.delete(o);
        await waitFor(`${kind.kind}s finalized`, async () => (await kube.client.list(kind, { namespace: ns.name })).length === 0, { timeoutMs: 60_000 }).catch(async () => {
          for (const o of await kube.client.list<Obj>(kind, { namespace: ns.name })) await kube.client.patch(o, { metadata: { finalizers: null } }, "merge");
        });
      });
    }
  }
  if (operator) await quietly("stopping the operator", () => operator!.stop());
  if (git) await quietly("stopping the git server", () => git.close());
  kube?.close();
  await quietly("deleting the namespace", async () => ns?.cleanup());
});

describe("the web UI in a browser, against the real controllers", () => {
  let page: Page;
  /** Every request the page makes to the UI's API, to prove it never polls. */
  const requests: string[] = [];

  it("the Applications page lists the synced Application, with counts and filters", STEP, async () => {
    ({ page } = await newPage(browser, { viewport: { width: 1360, height: 800 } }));
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/api/")) requests.push(`${r.method()} ${u.pathname}`);
    });
    await page.goto(local.url);
    await see(page, `${appRow("web")}[data-sync="Synced"][data-health="Healthy"]`, "web Synced and Healthy");
    const revision = await page.textContent(`${appRow("web")} td.mono`);
    assert.match(revision ?? "", new RegExp(`main@${firstSha.slice(0, 12)}`), "the row shows the revision synced");
    assert.match(revision ?? "", /initial/, "and the commit's subject");
    const counts = (await page.textContent(".counts")) ?? "";
    assert.match(counts, /Total 4/);
    assert.match(counts, /OutOfSync 1|OutOfSync 2/, `counts: ${counts}`);
    await see(page, `${appRow("degraded")}`, "the degraded Application's row");
    await shot(page, "applications");
    // Filters: search narrows to one row; the Sync chip filters by state; clearing brings every row back.
    await page.fill("#f-q", "gated");
    assert.equal(await page.locator("tbody tr[data-key]").count(), 1);
    await page.fill("#f-q", "");
    await page.selectOption("#f-sync", "Synced");
    for (const key of await page.locator("tbody tr[data-key]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-sync")))) assert.equal(key, "Synced");
    await page.selectOption("#f-sync", "");
    assert.equal(await page.locator("tbody tr[data-key]").count(), 4);
  });

  it("a push turns an Application OutOfSync, and a sync from the page turns it Synced, live (no reload, no polling)", STEP, async () => {
    // Record every sync state the gated row shows, as the page changes it.
    await page.evaluate((sel) => {
      const w = window as unknown as { seen: string[]; noReload: boolean };
      w.seen = [];
      w.noReload = true;
      const note = () => {
        const v = document.querySelector(sel)?.getAttribute("data-sync");
        if (v && w.seen[w.seen.length - 1] !== v) w.seen.push(v);
      };
      note();
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
    }, appRow("gated"));
    // First a manual sync of the first revision, so that the push has something to be out of sync with.
    await page.click(`${appRow("gated")} a`);
    await see(page, 'button[data-action="sync"]', "the Sync button");
    await page.click('button[data-action="sync"]');
    await see(page, ".action-status.ok", "the sync request accepted");
    await untilApp("gated", `Synced at ${firstSha}`, (a) => a.status?.sync?.status === "Synced" && String(a.status?.sync?.revision).endsWith(firstSha));
    await page.goBack();
    await see(page, `${appRow("gated")}[data-sync="Synced"]`, "gated Synced after the manual sync");

    const before = requests.length;
    secondSha = await repo.commit({ "web/configmap.yaml": configMap("web-config", "green"), "gated/configmap.yaml": configMap("gated-config", "green") }, "green everywhere");
    // The source controller fetches on request (a reconcile annotation, as a webhook would set it).
    await kube.client.patch(obj("source.mooring.dev/v1alpha1", "GitRepository", "apps", {}), { metadata: { annotations: { [Annotations.reconcileRequestedAt]: new Date().toISOString() } } }, "merge");
    await see(page, `${appRow("gated")}[data-sync="OutOfSync"]`, "gated OutOfSync after the push");
    await see(page, `${appRow("web")}[data-sync="Synced"] td.mono >> text=${secondSha.slice(0, 12)}`, "web synced to the pushed commit by automation");
    assert.deepEqual(requests.slice(before), [], "the page made no request while it waited: the changes were pushed to it");

    await page.click(`${appRow("gated")} a`);
    await page.click('button[data-action="sync"]');
    await see(page, ".action-status.ok", "the second sync request accepted");
    await page.goBack();
    await see(page, `${appRow("gated")}[data-sync="Synced"] td.mono >> text=${secondSha.slice(0, 12)}`, "gated Synced at the pushed commit");
    const seen = await page.evaluate(() => (window as unknown as { seen: string[]; noReload?: boolean }).seen);
    assert.ok(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload === true), "the page was never reloaded");
    const lastOut = seen.lastIndexOf("OutOfSync");
    assert.ok(lastOut >= 0 && seen.indexOf("Synced", lastOut) > lastOut, `gated went OutOfSync, then Synced, on the page: ${seen.join(" → ")}`);
    assert.equal(requests.filter((r) => r === "GET /api/stream").length, 1, `one event stream for the whole visit: ${requests.join(", ")}`);
  });

  it("a rollback from the history re-applies an earlier sync, shown live, and Resume ends the hold", STEP, async () => {
    await page.goto(`${local.url}/#/apps/${ns.name}/gated`);
    await see(page, 'button[data-rollback="1"]', "a Roll back button on the first sync's history row");
    await page.click('button[data-rollback="1"]');
    await see(page, ".action-status.ok", "the rollback requested");
    assert.match((await page.textContent(".action-status")) ?? "", /rollback of Application .* requested/);
    await see(page, "p.rollback >> text=rollback Succeeded", "the rollback done, on the page");
    const cm = await kube.client.get<Obj>({ apiVersion: "v1", kind: "ConfigMap" }, "gated-config", ns.name);
    assert.equal((cm as { data?: Record<string, string> }).data?.color, "blue", "the first sync's manifests are applied again");
    await page.click('button[data-action="resume"]');
    await see(page, ".action-status.ok >> text=rollback's hold ended", "the hold ended");
    await untilApp("gated", "no longer held", (a) => a.metadata?.annotations?.[Annotations.rollback] === undefined);
  });

  it("the tree shows a Deployment that cannot roll out as Degraded, with its ReplicaSet", STEP, async () => {
    await page.goto(`${local.url}/#/apps/${ns.name}/degraded`);
    await see(page, '[role="treeitem"][data-kind="Deployment"][data-health="Degraded"]', "the Deployment Degraded in the tree");
    await see(page, '[role="treeitem"][data-kind="ReplicaSet"]', "the Deployment's ReplicaSet under it");
    const msg = (await page.textContent('[role="treeitem"][data-kind="Deployment"] .node-msg')) ?? "";
    assert.match(msg, /progress deadline/);
    await see(page, "h1 .badge >> text=Degraded", "the Application's own health Degraded");
    await shot(page, "application");
  });

  it("the diff shows a kubectl edit that self-heal is not allowed to undo", STEP, async () => {
    await run("kubectl", ["--kubeconfig", c.kubeconfigPath, "-n", ns.name, "edit", "configmap", "drift-cm"], { env: { ...process.env, KUBE_EDITOR: "sed -i s/color:\\ blue/color:\\ red/" } });
    const live = await kube.client.get<Obj>({ apiVersion: "v1", kind: "ConfigMap" }, "drift-cm", ns.name);
    assert.equal((live as { data?: Record<string, string> }).data?.color, "red", "kubectl edit changed the live object");
    await page.goto(`${local.url}/#/apps/${ns.name}/drifty`);
    await see(page, '[role="treeitem"][data-kind="ConfigMap"] >> text=drifted', "the edited ConfigMap marked drifted in the tree");
    await page.click("#diff-button");
    await see(page, `.diff[data-change="changed"] pre`, "a changed object in the diff");
    const patch = (await page.textContent(".diff pre")) ?? "";
    assert.match(patch, /^-\s+color: red$/m, patch);
    assert.match(patch, /^\+\s+color: blue$/m, patch);
    await shot(page, "diff");
  });

  it("an action the user may not do is refused, as kubectl refuses it, and changes nothing", STEP, async () => {
    const { stdout } = await run("kubectl", ["--kubeconfig", c.kubeconfigPath, "-n", ns.name, "auth", "can-i", "patch", "applications.delivery.mooring.dev", "--as", "alice"]).catch((e: { stdout: string }) => e);
    assert.equal(stdout.trim(), "no", "kubectl says alice may not patch Applications");
    const { ctx, page: p } = await newPage(browser, { viewport: { width: 1360, height: 800 }, extraHTTPHeaders: { "X-Forwarded-User": "alice", "X-Forwarded-Groups": "readers" } });
    await p.goto(`${proxied.url}/#/apps/${ns.name}/web`);
    await see(p, "#user >> text=alice", "the proxy's user in the header");
    await p.click('button[data-action="sync"]');
    await see(p, ".action-status.bad", "the refusal");
    const text = (await p.textContent(".action-status")) ?? "";
    assert.match(text, /not allowed \(HTTP 403\)/, text);
    assert.match(text, /User "alice" cannot patch resource "applications"/, text);
    await shot(p, "forbidden");
    const web = await getApp("web");
    assert.equal(web?.metadata?.annotations?.[Annotations.syncRequestedAt], undefined, "no sync was requested");
    // Without the header, or from an address that is not the proxy's, nobody is signed in.
    const anon = await fetch(`${proxied.url}/api/whoami`);
    assert.equal(anon.status, 401);
    assert.match(((await anon.json()) as { error: string }).error, /no X-Forwarded-User header/);
    await ctx.close();
  });

  it("token sign-in: a TokenReview names the user, a bad token is refused, and a read-only UI refuses every action", STEP, async () => {
    const tr = await kube.client.rest.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns.name}/serviceaccounts/ui-reader/token`, { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } } });
    const { ctx, page: p } = await newPage(browser, { viewport: { width: 1360, height: 800 } });
    await p.goto(tokened.url);
    await see(p, "#token", "the sign-in form");
    await p.fill("#token", "not-a-token");
    await p.click('button[type="submit"]');
    await see(p, '.signin .error >> text=did not accept the token', "the bad token refused");
    await shot(p, "sign-in");
    await p.fill("#token", tr.status.token);
    await p.click('button[type="submit"]');
    await see(p, `#user >> text=system:serviceaccount:${ns.name}:ui-reader`, "the token's user");
    assert.match((await p.textContent("#user")) ?? "", /read-only/);
    await p.goto(`${tokened.url}/#/apps/${ns.name}/web`);
    await see(p, 'button[data-action="sync"][disabled]', "a disabled Sync button");
    const answer = await p.evaluate(async (u) => {
      const r = await fetch(u, { method: "POST", headers: { "X-Requested-By": "mooring-ui" } });
      return { status: r.status, body: (await r.json()) as { message: string } };
    }, `/api/apps/${ns.name}/web/actions/sync`);
    assert.equal(answer.status, 403);
    assert.match(answer.body.message, /read-only/);
    // A write without the header a page of another site cannot send is refused before anything else.
    const csrf = await p.evaluate(async (u) => (await fetch(u, { method: "POST" })).status, `/api/apps/${ns.name}/web/actions/sync`);
    assert.equal(csrf, 403);
    await ctx.close();
  });

  it("the Sources and Sync policies pages show the repository's revision and the windows on a timeline", STEP, async () => {
    await page.goto(`${local.url}/#/sources`);
    const row = `tr[data-key="GitRepository/${ns.name}/apps"]`;
    await see(page, `${row} >> text=${secondSha.slice(0, 12)}`, "the GitRepository at the pushed commit");
    assert.match((await page.textContent(row)) ?? "", /branch main/);
    await shot(page, "sources");
    await page.goto(`${local.url}/#/policies`);
    const card = `article[data-key="${ns.name}/nightly"]`;
    await see(page, `${card} .seg.deny`, "the deny window's openings");
    // A daily 8-hour window: seven openings in seven days, plus the one open now (cut at the left edge) after 22:00.
    const denies = await page.locator(`${card} .seg.deny`).count();
    assert.ok(denies === 7 || denies === 8, `a daily window opens seven or eight times in seven days from now (${denies})`);
    const allows = await page.locator(`${card} .seg.allow`).count();
    assert.ok(allows >= 4 && allows <= 6, `a weekday window opens on the week's working days (${allows})`);
    assert.match((await page.textContent(`article[data-key="${ns.name}/manual"]`)) ?? "", /manual only/);
    await shot(page, "policies");
  });

  it("accessibility basics: every control is labelled, the keyboard reaches an Application, text contrast is at least 4.5:1", STEP, async () => {
    await page.goto(local.url);
    await see(page, appRow("web"), "the list");
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, button")].filter((el) => !((el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.textContent?.trim())).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    // Tab from the top of the page to the link of the web Application, then Enter opens it.
    let found = false;
    for (let i = 0; i < 80 && !found; i++) {
      await page.keyboard.press("Tab");
      found = await page.evaluate(() => document.activeElement?.tagName === "A" && document.activeElement.textContent === "web");
    }
    assert.ok(found, "Tab reaches the web Application's link");
    await page.keyboard.press("Enter");
    await see(page, 'h1 >> text=web', "the web Application opened from the keyboard");
    const low = await page.evaluate(() => {
      const lum = (c: string) => {
        const [r, g, b] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        }) as [number, number, number];
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const bg = (el: Element | null): string => {
        for (; el; el = el.parentElement) {
          const c = getComputedStyle(el).backgroundColor;
          if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
        }
        return "rgb(255, 255, 255)";
      };
      const out: string[] = [];
      for (const el of document.querySelectorAll(".badge, td, th, a, h1, h2, p, dt, dd, button, .node-msg")) {
        if (!el.textContent?.trim()) continue;
        const a = lum(getComputedStyle(el).color);
        const b = lum(bg(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < 4.5) out.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
      }
      return out;
    });
    assert.deepEqual(low, [], "text with a contrast ratio under 4.5:1");
  });
});

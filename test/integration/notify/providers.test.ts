// Notifications end to end: a real git server, the real operator (source, render, apply and notify controllers, as a
// process through src/cli/main.ts) against the real API server, and loopback receivers that speak each provider's API
// (generic + HMAC, Slack webhook and chat.postMessage, Teams, Discord, GitHub/GitLab/Gitea commit statuses). The test
// creates Providers, Alerts, Secrets, a GitRepository and Applications, pushes commits, and checks what each receiver
// got (method, path, headers, auth, JSON body), what the Provider and Alert status say (written by the controller,
// never by the test), that a failing receiver is retried and reported while syncs carry on, that bad inputs give
// clear conditions, and that no secret appears in logs, Events or status.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { AlertKind, ApplicationKind, GitRepositoryKind, ProviderKind, installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { freePort, startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const CONVERGE_MS = 240_000;
const STEP = { timeout: 600_000 };
const TOKEN = "tkn-9f8e7d6c5b4a-notify-secret";
const HMAC_KEY = "hmac-key-1a2b3c4d5e6f";
const SLACK_PATH = "/slack/services/T000/B000/XYZSECRETPATH123";
const DISCORD_PATH = "/discord/api/webhooks/42/DISCORDSECRETTOKEN987";
const TEAMS_PATH = "/teams/workflows/TEAMSSECRETSIG555";
/** Every secret value: none may appear in logs, Events or status (a payload carries only what its protocol needs). */
const SECRETS = [TOKEN, HMAC_KEY, "XYZSECRETPATH123", "DISCORDSECRETTOKEN987", "TEAMSSECRETSIG555"];

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: { conditions?: Cond[]; lastDelivery?: Record<string, unknown>; sync?: { revision?: string } } };

/** Loopback receivers, one server: each path answers as its service does. `flaky` fails until `healFlaky()`. */
class Receivers {
  readonly got: Received[] = [];
  private server!: http.Server;
  port = 0;
  flakyFails = true;
  static async start(): Promise<Receivers> {
    const r = new Receivers();
    r.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const path = req.url ?? "/";
        r.got.push({ method: req.method ?? "", path, headers: req.headers, body });
        const [status, type, text] = r.answer(path);
        res.writeHead(status, type ? { "Content-Type": type } : {}).end(text);
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, "127.0.0.1", resolve));
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  private answer(path: string): [number, string | undefined, string] {
    if (path === "/hook") return [200, undefined, ""];
    if (path === SLACK_PATH) return [200, "text/plain", "ok"];
    if (path === "/slack-api/chat.postMessage") return [200, "application/json", JSON.stringify({ ok: true, channel: "C1", ts: "1.2" })];
    if (path === "/slack-bad/chat.postMessage") return [200, "application/json", JSON.stringify({ ok: false, error: "channel_not_found" })];
    if (path === TEAMS_PATH) return [202, undefined, ""];
    if (path === DISCORD_PATH) return [204, undefined, ""];
    if (/^\/(github\/repos|gitlab\/api\/v4\/projects|gitea\/api\/v1\/repos)\//.test(path)) return [201, "application/json", JSON.stringify({ id: 1, state: "success" })];
    if (path === "/flaky") return this.flakyFails ? [503, "text/plain", "upstream unavailable"] : [200, undefined, ""];
    // A receiver that echoes what it thinks is wrong, secrets included: they must not reach status or logs.
    if (path === "/refuse") return [401, "application/json", JSON.stringify({ message: `bad credentials for ${TOKEN}` })];
    return [404, "text/plain", "no such hook"];
  }
  at(path: string | RegExp): Received[] {
    return this.got.filter((g) => (typeof path === "string" ? g.path === path : path.test(g.path)));
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let git: GitServer;
let repo: TestRepo;
let rx: Receivers;
let operator: RunningOperator | undefined;
let sha1 = "";
let downPort = 0;

const cm = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${v}"\n`;
const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(60)}` : "");
const get = (kind: typeof ProviderKind, name: string) => kube.client.get<Obj>(kind, name, ns.name);
const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const conds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");

async function converge<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs: CONVERGE_MS, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

function untilCond(kind: typeof ProviderKind, name: string, type: string, ok: (c: Cond) => boolean): Promise<Obj> {
  return converge(`${kind.kind} ${name}: ${type} as expected`, async () => {
    const o = await get(kind, name);
    const x = cond(o, type);
    if (o && x && ok(x)) return o;
    throw new Error(conds(o));
  });
}

const secret = (name: string, data: Record<string, string>): KubeObject =>
  ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: ns.name }, type: "Opaque", stringData: data }) as KubeObject;
const provider = (name: string, spec: Record<string, unknown>): Obj => ({ apiVersion: "notification.mooring.dev/v1alpha1", kind: "Provider", metadata: { name, namespace: ns.name }, spec });
const alert = (name: string, providerName: string, extra: Record<string, unknown> = {}): Obj => ({
  apiVersion: "notification.mooring.dev/v1alpha1",
  kind: "Alert",
  metadata: { name, namespace: ns.name },
  spec: { providerRef: { name: providerName }, eventSources: [{ kind: "Application", name: "*" }], ...extra },
});
const application = (name: string, path: string): Obj => ({
  apiVersion: "delivery.mooring.dev/v1alpha1",
  kind: "Application",
  metadata: { name, namespace: ns.name, labels: { team: "shop" } },
  spec: { sourceRef: { kind: "GitRepository", name: "shop" }, path },
});

/** Providers that work, each with its Alert (same name). */
const GOOD = ["generic", "slack", "slack-api", "teams", "discord", "github", "gitlab", "gitea"];

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "notify");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "default-edit", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  rx = await Receivers.start();
  downPort = await freePort(); // nothing listens there
  git = await GitServer.start();
  // Two path segments, as on a Git host: the commit-status providers map them to owner/repo.
  repo = await git.createRepo("acme/shop", { files: { "web/cm.yaml": cm("web", "1"), "broken/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n  ports:\n    - port: 70000\n" } });
  sha1 = await repo.head();

  const b = rx.base;
  for (const s of [
    secret("hmac", { address: `${b}/hook`, token: HMAC_KEY }),
    secret("slack-hook", { address: `${b}${SLACK_PATH}` }),
    secret("slack-token", { token: TOKEN }),
    secret("teams", { address: `${b}${TEAMS_PATH}` }),
    secret("discord", { address: `${b}${DISCORD_PATH}` }),
    secret("git-token", { token: TOKEN }),
    secret("bad-address", { address: "hooks.example.com/no-scheme" }),
    secret("refuse", { token: TOKEN }),
  ]) await kube.client.create(s);
  const providers: Obj[] = [
    provider("generic", { type: "generic-hmac", secretRef: { name: "hmac" } }),
    provider("slack", { type: "slack", username: "mooring", secretRef: { name: "slack-hook" } }),
    provider("slack-api", { type: "slack", channel: "#deploys", address: `${b}/slack-api/chat.postMessage`, secretRef: { name: "slack-token" } }),
    provider("teams", { type: "msteams", secretRef: { name: "teams" } }),
    provider("discord", { type: "discord", username: "mooring", secretRef: { name: "discord" } }),
    provider("github", { type: "github", address: `${b}/github`, secretRef: { name: "git-token" } }),
    provider("gitlab", { type: "gitlab", address: `${b}/gitlab/api/v4`, secretRef: { name: "git-token" } }),
    provider("gitea", { type: "gitea", address: `${b}/gitea/api/v1`, secretRef: { name: "git-token" } }),
    // Bad inputs and failing receivers.
    provider("flaky", { type: "generic", address: `${b}/flaky` }),
    provider("refuse", { type: "generic-hmac", address: `${b}/refuse`, secretRef: { name: "refuse" } }),
    provider("slack-bad", { type: "slack", channel: "#nope", address: `${b}/slack-bad/chat.postMessage`, secretRef: { name: "slack-token" } }),
    provider("down", { type: "generic", address: `http://127.0.0.1:${downPort}/x`, timeout: "2s" }),
    provider("no-secret", { type: "github", secretRef: { name: "missing" } }),
    provider("bad-address", { type: "generic", secretRef: { name: "bad-address" } }),
  ];
  for (const p of providers) await kube.client.create(p);
  for (const name of [...GOOD, "flaky", "refuse", "slack-bad", "down", "no-secret", "bad-address"]) await kube.client.create(alert(name, name));
  await kube.client.create(alert("errors-only", "generic", { eventSeverity: "error", eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }));
  await kube.client.create(alert("orphan", "does-not-exist"));
  await kube.client.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "shop", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "1h" } } as Obj);

  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, controllers: ["source", "render", "apply", "notify"], logLevel: "debug", readyTimeoutMs: 180_000 });
  // Created after the operator started: its Events are news to the notify controller.
  await kube.client.create(application("web", "./web"));
});

after(async () => {
  await operator?.stop();
  await rx?.close();
  await git?.close();
  await ns?.cleanup();
});

const bodyOf = (r: Received) => JSON.parse(r.body) as Record<string, any>;
const revisionOf = (sha: string) => `main@sha1:${sha}`;

void describe("notifications", () => {
  void it("a sync is announced to every provider in its own API shape", STEP, async () => {
    await converge(`Application web synced at ${sha1}`, async () => {
      const a = await kube.client.get<Obj>(ApplicationKind, "web", ns.name);
      return (a?.status?.sync?.revision ?? "").endsWith(sha1) && cond(a, "Ready")?.status === "True";
    });
    const one = (what: string, path: string | RegExp) => converge(`a request at ${what}`, async () => rx.at(path)[0] ?? false);

    const hook = await one("the generic-hmac hook", "/hook");
    assert.equal(hook.method, "POST");
    assert.equal(hook.headers["content-type"], "application/json");
    assert.equal(hook.headers["x-signature"], `sha256=${createHmac("sha256", HMAC_KEY).update(hook.body).digest("hex")}`);
    const ev = bodyOf(hook);
    assert.equal(ev.reason, "Synced");
    assert.equal(ev.severity, "info");
    assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.namespace, ev.involvedObject.name], ["Application", ns.name, "web"]);
    assert.equal(ev.metadata.revision, revisionOf(sha1));
    assert.equal(ev.reportingController, "mooring-apply");

    const slack = bodyOf(await one("the Slack webhook", SLACK_PATH));
    assert.equal(slack.username, "mooring");
    assert.equal(slack.text, `Synced: Application/${ns.name}/web`);
    assert.equal(slack.attachments[0].color, "good");
    const api = await one("chat.postMessage", "/slack-api/chat.postMessage");
    assert.equal(api.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(bodyOf(api).channel, "#deploys");

    const teams = bodyOf(await one("the Teams webhook", TEAMS_PATH));
    assert.equal(teams.type, "message");
    assert.equal(teams.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(teams.attachments[0].content.type, "AdaptiveCard");

    const discord = bodyOf(await one("the Discord webhook", DISCORD_PATH));
    assert.equal(discord.embeds[0].title, `Synced: Application/${ns.name}/web`);

    const gh = await one("GitHub's statuses API", `/github/repos/acme/shop/statuses/${sha1}`);
    assert.equal(gh.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(gh.headers.accept, "application/vnd.github+json");
    assert.equal(gh.headers["x-github-api-version"], "2022-11-28");
    assert.deepEqual([bodyOf(gh).state, bodyOf(gh).context], ["success", `mooring/${ns.name}/web`]);
    const gl = await one("GitLab's statuses API", `/gitlab/api/v4/projects/acme%2Fshop/statuses/${sha1}`);
    assert.equal(gl.headers["private-token"], TOKEN);
    assert.deepEqual([bodyOf(gl).state, bodyOf(gl).name], ["success", `mooring/${ns.name}/web`]);
    const gt = await one("Gitea's statuses API", `/gitea/api/v1/repos/acme/shop/statuses/${sha1}`);
    assert.equal(gt.headers.authorization, `token ${TOKEN}`);
    assert.deepEqual([bodyOf(gt).state, bodyOf(gt).context], ["success", `mooring/${ns.name}/web`]);

    for (const name of GOOD) {
      const a = await untilCond(AlertKind, name, "Delivered", (x) => x.status === "True");
      assert.equal(a.status?.lastDelivery?.event, "Synced");
      assert.equal(cond(a, "Ready")?.status, "True", conds(a));
      await untilCond(ProviderKind, name, "Delivered", (x) => x.status === "True");
    }
    // Severity error: the Synced event is not sent by the errors-only Alert (it shares the generic Provider).
    assert.equal(rx.at("/hook").length, 1, "one Synced event, one request: the errors-only Alert sent nothing");
  });

  void it("reports bad inputs as conditions: missing Secret, invalid address, missing Provider, refusals, a receiver that is down", STEP, async () => {
    const noSecret = await untilCond(ProviderKind, "no-secret", "Ready", (x) => x.reason === "SecretNotFound");
    assert.match(cond(noSecret, "Ready")!.message!, /Secret "missing" named by Provider .*spec.secretRef not found/);
    await untilCond(AlertKind, "no-secret", "Ready", (x) => x.status === "False" && x.reason === "ProviderNotReady");
    const bad = await untilCond(ProviderKind, "bad-address", "Ready", (x) => x.reason === "InvalidAddress");
    assert.match(cond(bad, "Ready")!.message!, /key "address" of Secret "bad-address" is not an http/);
    assert.ok(!cond(bad, "Ready")!.message!.includes("hooks.example.com"), "the Secret's value is not shown");
    await untilCond(AlertKind, "orphan", "Ready", (x) => x.reason === "ProviderNotFound" && /Provider "does-not-exist" not found/.test(x.message ?? ""));
    const refused = await untilCond(AlertKind, "refuse", "Delivered", (x) => x.reason === "DeliveryFailed");
    assert.match(cond(refused, "Delivered")!.message!, /HTTP 401 from http:\/\/127\.0\.0\.1:\d+.*check the token/);
    assert.equal(rx.at("/refuse").length, 1, "a 401 is not retried");
    const slackBad = await untilCond(AlertKind, "slack-bad", "Delivered", (x) => x.reason === "DeliveryFailed");
    assert.match(cond(slackBad, "Delivered")!.message!, /Slack refused the message .*channel_not_found/);
    const down = await untilCond(AlertKind, "down", "Delivered", (x) => x.reason === "DeliveryRetrying" || x.reason === "DeliveryFailed");
    assert.match(cond(down, "Delivered")!.message!, /could not reach http:\/\/127\.0\.0\.1:\d+/);

    // What the API server refuses outright.
    await assert.rejects(kube.client.create(provider("unknown-type", { type: "pagerduty", address: "https://x.example" })), /spec.type.*Unsupported value: "pagerduty"/s);
    await assert.rejects(kube.client.create(provider("bad-url", { type: "generic", address: "ftp://x.example/hook" })), /address must be an http:\/\/ or https:\/\/ URL/);
    await assert.rejects(kube.client.create(provider("no-token", { type: "github" })), /needs spec.secretRef/);
  });

  void it("a failing receiver is retried with backoff and reported, while syncs carry on; it recovers", STEP, async () => {
    const retrying = await untilCond(AlertKind, "flaky", "Delivered", (x) => x.reason === "DeliveryRetrying" && /attempt [2-9] of/.test(x.message ?? ""));
    assert.match(cond(retrying, "Delivered")!.message!, /HTTP 503 from http:\/\/127\.0\.0\.1:\d+: upstream unavailable; retrying in \d/);
    assert.ok(rx.at("/flaky").length >= 2, "retried");
    // A new commit is synced while the receiver fails.
    const sha2 = await repo.commit({ "web/cm.yaml": cm("web", "2") }, "second");
    await kube.client.patch({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "shop", namespace: ns.name } }, { metadata: { annotations: { "mooring.dev/reconcile-requested-at": "2" } } }, "merge");
    await converge(`Application web synced at ${sha2}`, async () => {
      const a = await kube.client.get<Obj>(ApplicationKind, "web", ns.name);
      return (a?.status?.sync?.revision ?? "").endsWith(sha2) && cond(a, "Ready")?.status === "True";
    });
    await converge(`GitHub told about ${sha2}`, async () => rx.at(`/github/repos/acme/shop/statuses/${sha2}`).length > 0);
    rx.flakyFails = false;
    const ok = await untilCond(AlertKind, "flaky", "Delivered", (x) => x.status === "True");
    assert.match(cond(ok, "Delivered")!.message!, /sent Synced of Application/);
  });

  void it("a failed sync sets a failure status on its commit and reaches the errors-only Alert", STEP, async () => {
    await kube.client.create(application("broken", "./broken"));
    const gh = await converge("a failure commit status for broken", async () => rx.at(/^\/github\/repos\/acme\/shop\/statuses\//).find((r) => bodyOf(r).context === `mooring/${ns.name}/broken`) ?? false);
    assert.equal(bodyOf(gh).state, "failure");
    assert.match(bodyOf(gh).description, /^sync failed: /);
    assert.ok(bodyOf(gh).description.length <= 140);
    const failed = await converge("a SyncFailed event at the hook", async () => rx.at("/hook").find((r) => bodyOf(r).reason === "SyncFailed") ?? false);
    assert.equal(bodyOf(failed).severity, "error");
    assert.equal(bodyOf(failed).involvedObject.name, "broken");
  });

  void it("no secret value appears in logs, Events or status; payloads carry only what their protocol needs", STEP, async () => {
    const logs = operator!.logs();
    const statuses = JSON.stringify([...(await kube.client.list(ProviderKind, { namespace: ns.name })), ...(await kube.client.list(AlertKind, { namespace: ns.name }))].map((o) => (o as Obj).status));
    const events = JSON.stringify(await kube.client.list(Kinds.EventV1, { namespace: ns.name }));
    for (const s of SECRETS) {
      assert.ok(!logs.includes(s), `the operator's log holds a secret (${s.slice(0, 4)}…)`);
      assert.ok(!statuses.includes(s), `a status holds a secret (${s.slice(0, 4)}…)`);
      assert.ok(!events.includes(s), `an Event holds a secret (${s.slice(0, 4)}…)`);
    }
    for (const r of rx.got) for (const s of SECRETS) assert.ok(!r.body.includes(s), `the body sent to ${r.path.slice(0, 12)}… holds a secret`);
    // The repository's own URL is not secret; GitRepository and Application objects were not touched by the notifier.
    const repoObj = await kube.client.get<Obj>(GitRepositoryKind, "shop", ns.name);
    assert.ok(!JSON.stringify(repoObj?.metadata?.managedFields ?? []).includes("mooring-notify"));
  });
});

// `mooring ui` (src/ui/command.ts): its flags (defaults, MOORING_UI_* variables, refusals) parsed by the command's
// own options, and the real entry point (src/cli/main.ts) as a subprocess for what the action does before and after it
// serves: bad kubeconfigs and auth flags exit 2 with one line, a busy address exits 2, and a UI that serves names the
// user from the configured header and stops on SIGTERM. The kubeconfig's API server is a closed port (none is faked):
// what the UI shows of a cluster runs against kube-apiserver in test/integration/ui/browser.test.ts and long-list.test.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { before, describe, it } from "node:test";
import { Command } from "commander";
import { registerUiCommand } from "../../../src/ui/command.js";
import { mooringCli, MOORING_ENTRY } from "../../support/mooring-cli.js";
import { waitFor } from "../../support/wait.js";
import { closedPortKubeconfig } from "../../support/closed-port.js";

/** Parses `mooring ui <args>` with `env` set, returning the flags the action would get (the action is replaced). */
async function parse(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const program = new Command("mooring").exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerUiCommand(program);
  const cmd = program.commands.find((c) => c.name() === "ui")!.exitOverride();
  let flags: Record<string, unknown> | undefined;
  cmd.action((f: Record<string, unknown>) => void (flags = f));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await program.parseAsync(["node", "mooring", "ui", ...args]);
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
  return flags!;
}

const refused = (args: string[]) => parse(args).then(
  () => assert.fail(`accepted ${args.join(" ")}`),
  (err: Error) => err.message,
);

void describe("mooring ui: flags", () => {
  void it("defaults: local sign-in on 127.0.0.1:8080, actions on, the proxy headers, no trusted proxy", async () => {
    const f = await parse([]);
    assert.deepEqual(
      { address: f.address, readOnly: f.readOnly, auth: f.auth, userHeader: f.userHeader, groupsHeader: f.groupsHeader, trustedProxy: f.trustedProxy, sa: f.defaultServiceAccount, logLevel: f.logLevel, assets: f.assets },
      { address: "127.0.0.1:8080", readOnly: false, auth: "local", userHeader: "X-Forwarded-User", groupsHeader: "X-Forwarded-Groups", trustedProxy: [], sa: "default", logLevel: "info", assets: undefined },
    );
  });

  void it("takes --trusted-proxy repeated and comma-separated, blanks dropped, and addresses with an empty or bracketed host", async () => {
    const f = await parse(["--auth", "proxy", "--trusted-proxy", "10.0.0.0/8, 127.0.0.1", "--trusted-proxy=,::1,", "--address", ":9000"]);
    assert.deepEqual(f.trustedProxy, ["10.0.0.0/8", "127.0.0.1", "::1"]);
    assert.equal(f.address, ":9000");
    assert.equal((await parse(["--address", "[::1]:65535"])).address, "[::1]:65535");
  });

  void it("reads every flag from MOORING_UI_<NAME>, and a flag given on the command line wins", async () => {
    const env = { MOORING_UI_ADDRESS: "0.0.0.0:9443", MOORING_UI_READ_ONLY: "true", MOORING_UI_AUTH: "token", MOORING_UI_USER_HEADER: "X-User", MOORING_UI_GROUPS_HEADER: "X-Groups", MOORING_UI_TRUSTED_PROXY: "10.1.0.0/16,10.2.0.0/16", MOORING_UI_DEFAULT_SERVICE_ACCOUNT: "deployer", MOORING_UI_ASSETS: "/srv/ui", MOORING_UI_LOG_LEVEL: "debug", MOORING_UI_LOG_FORMAT: "json" };
    const f = await parse([], env);
    assert.deepEqual(
      [f.address, f.readOnly, f.auth, f.userHeader, f.groupsHeader, f.trustedProxy, f.defaultServiceAccount, f.assets, f.logLevel, f.logFormat],
      ["0.0.0.0:9443", true, "token", "X-User", "X-Groups", ["10.1.0.0/16", "10.2.0.0/16"], "deployer", "/srv/ui", "debug", "json"],
    );
    const g = await parse(["--auth", "proxy", "--address", "127.0.0.1:1"], env);
    assert.deepEqual([g.auth, g.address], ["proxy", "127.0.0.1:1"]);
    assert.equal(process.env.MOORING_UI_AUTH, undefined, "the test left the environment as it found it");
  });

  void it("--read-only and MOORING_UI_READ_ONLY read false as false (a set variable is not enough), and refuse what is not a boolean", async () => {
    assert.equal((await parse([])).readOnly, false);
    assert.equal((await parse(["--read-only"])).readOnly, true);
    assert.equal((await parse(["--read-only=false"])).readOnly, false);
    for (const [v, want] of [["true", true], ["1", true], ["yes", true], ["false", false], ["0", false], ["no", false]] as const) {
      assert.equal((await parse([], { MOORING_UI_READ_ONLY: v })).readOnly, want, `MOORING_UI_READ_ONLY=${v}`);
    }
    assert.match(await refused(["--read-only=maybe"]), /expected true or false, got "maybe"/);
  });

  void it("refuses an address that is not host:port, a port over 65535, an unknown auth mode, log level or format", async () => {
    for (const a of ["8080", "localhost", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:123456", "::1:80"]) assert.match(await refused(["--address", a]), new RegExp(`expected host:port .*got "${a.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"`), a);
    assert.match(await refused(["--auth", "oidc"]), /--auth <mode>.*Allowed choices are local, token, proxy/);
    assert.match(await refused(["--log-level", "trace"]), /Allowed choices are error, warn, info, debug/);
    assert.match(await refused(["--log-format", "xml"]), /Allowed choices are json, text/);
    assert.match(await refused(["--bogus"]), /unknown option '--bogus'/);
  });
});

// ---- the action, through the real entry point ----

let kubeconfig: string;
before(async () => {
  // A kubeconfig whose API server is a closed port: every request the module makes fails to connect.
  ({ file: kubeconfig } = await closedPortKubeconfig("ui-command-", { token: "kubeconfig-t0ken-never-shown" }));
});

const ui = (args: string[]) => mooringCli(["ui", "--log-format", "text", ...args], { timeoutMs: 60_000 });

void describe("mooring ui: refusals at start", () => {
  void it("a kubeconfig it cannot read exits 2 and says so", async () => {
    const r = await ui(["--kubeconfig", "/nonexistent/kubeconfig"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /cannot read kubeconfig \/nonexistent\/kubeconfig/);
  });

  void it("proxy sign-in without a trusted proxy, or with a bad one, exits 2 before listening", async () => {
    for (const [args, says] of [
      [["--auth=proxy"], /--auth=proxy needs --trusted-proxy/],
      [["--auth=proxy", "--trusted-proxy=10.0.0.0/"], /--trusted-proxy "10.0.0.0\/" has an invalid prefix length/],
    ] as const) {
      const r = await ui(["--kubeconfig", kubeconfig, "--address", "127.0.0.1:0", ...args]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, says);
      assert.doesNotMatch(r.stdout, /Mooring UI on/);
    }
  });

  void it("an address already in use exits 2, naming it", async () => {
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const address = `127.0.0.1:${(busy.address() as AddressInfo).port}`;
    try {
      const r = await ui(["--kubeconfig", kubeconfig, "--auth=proxy", "--trusted-proxy=127.0.0.1", "--address", address]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`cannot listen on ${address}: .*EADDRINUSE`));
    } finally {
      busy.close();
    }
  });
});

void describe("mooring ui: serving", () => {
  void it("serves with the flags and variables given (header names, read-only, namespace), and stops on SIGTERM", async () => {
    const env: NodeJS.ProcessEnv = { NO_COLOR: "1", MOORING_UI_READ_ONLY: "1", MOORING_UI_USER_HEADER: "X-Auth-User" };
    for (const k of Object.keys(process.env)) if (!k.startsWith("MOORING_") && k !== "KUBECONFIG") env[k] = process.env[k];
    const args = ["--import", "tsx", MOORING_ENTRY, "ui", "--kubeconfig", kubeconfig, "--auth", "proxy", "--trusted-proxy", "127.0.0.1", "--address", "127.0.0.1:0", "-n", "team-a", "--log-format", "json"];
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const started = await waitFor("the UI to listen", () => out.split("\n").map((l) => (l.includes("Mooring UI on") ? (JSON.parse(l) as { message: string; url: string }) : undefined)).find(Boolean), { timeoutMs: 45_000, intervalMs: 50 });
      assert.match(started.message, /^Mooring UI on http:\/\/127\.0\.0\.1:\d+ \(proxy sign-in, read-only, namespace team-a\)$/);
      const who = await fetch(`${started.url}/api/whoami`, { headers: { "X-Auth-User": "alice", "X-Forwarded-Groups": "dev" } });
      assert.equal(who.status, 200);
      assert.deepEqual(await who.json(), { user: "alice", groups: ["dev"], mode: "proxy", readOnly: true, signInRequired: false });
      const nobody = await fetch(`${started.url}/api/whoami`, { headers: { "X-Forwarded-User": "alice" } });
      assert.equal(nobody.status, 401, "the default header is not read when another is configured");
      assert.equal((await fetch(`${started.url}/readyz`)).status, 503, "not ready while the API server cannot be listed");
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((r) => (timer = setTimeout(() => r("still running 20 s after SIGTERM"), 20_000)));
      assert.equal(await Promise.race([exited, late]).finally(() => clearTimeout(timer)), 0, out);
      assert.ok(!out.includes("kubeconfig-t0ken-never-shown"), "the kubeconfig's token in the log");
    } finally {
      child.kill("SIGKILL");
    }
  });
});

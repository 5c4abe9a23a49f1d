// Secret values never reach the CLI's output unless --show-secrets: not in `mooring render` (YAML or JSON), not in
// `mooring diff` (a changed value shows as `*** (before)`/`*** (after)`, an equal one as `***`), not in the
// last-applied-configuration copy, and not in error messages. The render cases run the real `mooring` entry point.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { diffApplication, printDiffs, yamlPatch } from "../../../src/cli/diff.js";
import { SecretMask, maskSecretPair, maskSecrets, redactSecretValues, secretValuesOf } from "../../../src/cli/format.js";
import type { Io } from "../../../src/cli/kube.js";
import { canonicalJson } from "../../../src/render/canonical.js";
import { ApiError, type Client, type KubeObject } from "../../../src/runtime/index.js";
import { writeTree } from "../render/tree.js";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const MAIN = path.join(ROOT, "src/cli/main.ts");
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const CANARY = "canary-cli-5ec2e7-value";
const ROTATED = "canary-cli-rotated-9d1f";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Fails naming only which form leaked, never quoting the output (the canary would end up in the test log). */
function assertAbsent(text: string, ...values: string[]): void {
  for (const v of values) {
    assert.ok(!text.includes(v), `a Secret value (plain, #${values.indexOf(v)}) is in the output`);
    assert.ok(!text.includes(b64(v)), `a Secret value (base64, #${values.indexOf(v)}) is in the output`);
  }
}

const secret = (value: string, extra: Record<string, string> = {}, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db", namespace: "shop", ...(annotations ? { annotations } : {}) },
  type: "Opaque",
  data: { password: b64(value), ...extra },
});

describe("maskSecretPair and maskSecrets", () => {
  it("masks equal values as *** on both sides, changed ones as *** (before)/*** (after), added and removed ones as ***", () => {
    const live = secret(CANARY, { user: b64("admin"), gone: b64("old-value") });
    const next = secret(ROTATED, { user: b64("admin"), added: b64("new-value") });
    const [b, a] = maskSecretPair(live, next) as [KubeObject & { data: Record<string, string> }, KubeObject & { data: Record<string, string> }];
    assert.deepEqual(b.data, { password: SecretMask.before, user: SecretMask.value, gone: SecretMask.value });
    assert.deepEqual(a.data, { password: SecretMask.after, user: SecretMask.value, added: SecretMask.value });
    assert.equal((live.data as Record<string, string>).password, b64(CANARY), "the inputs are not modified");
  });

  it("masks stringData and the annotations that copy the data, and leaves other annotations and other kinds alone", () => {
    const applied = JSON.stringify(secret(CANARY));
    const live = secret(CANARY, {}, { [LAST_APPLIED]: applied, "example.com/note": `rotated from ${CANARY}`, "example.com/owner": "team-a" });
    const next = { ...secret(CANARY, {}, { [LAST_APPLIED]: applied, "example.com/owner": "team-a" }), stringData: { extra: ROTATED } };
    const [b, a] = maskSecretPair(live, next);
    assertAbsent(JSON.stringify([b, a]), CANARY, ROTATED);
    assert.deepEqual(b!.metadata!.annotations, { [LAST_APPLIED]: SecretMask.value, "example.com/note": SecretMask.value, "example.com/owner": "team-a" });
    assert.equal((a as { stringData: Record<string, string> }).stringData.extra, SecretMask.value);
    const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { k: CANARY } };
    assert.deepEqual(maskSecretPair(cm, cm), [cm, cm]);
    assert.equal(maskSecrets(cm), cm);
  });

  it("masks the Secrets of a List", () => {
    const list = { apiVersion: "v1", kind: "List", items: [secret(CANARY), { apiVersion: "v1", kind: "ConfigMap", data: { a: "b" } }] };
    const masked = maskSecrets(list);
    assertAbsent(JSON.stringify(masked), CANARY);
    assert.deepEqual(masked.items[1], list.items[1]);
  });

  it("gives a diff that shows which values changed, never the values", () => {
    const [b, a] = maskSecretPair(secret(CANARY, { user: b64("admin") }), secret(ROTATED, { user: b64("admin") }));
    const patch = yamlPatch("shop_db__Secret", b, a);
    assertAbsent(patch, CANARY, ROTATED, "admin");
    assert.match(patch, /^- {2}password: "\*\*\* \(before\)"$/m);
    assert.match(patch, /^\+ {2}password: "\*\*\* \(after\)"$/m);
    assert.match(patch, /^ {3}user: "\*\*\*"$/m);
    const [same1, same2] = maskSecretPair(secret(CANARY), secret(CANARY));
    assert.equal(yamlPatch("shop_db__Secret", same1, same2), "", "equal Secrets still compare equal");
  });
});

describe("redactSecretValues", () => {
  it("replaces every form of a value, and short values only where quoted", () => {
    const values = [...secretValuesOf(secret(CANARY, { pin: b64("42") })), ...secretValuesOf({ kind: "Secret", stringData: { multi: 'line "one"\ntwo' } })];
    const text = `Invalid value: "${CANARY}" (${b64(CANARY)}); pin "42" at HTTP 422; ${JSON.stringify('line "one"\ntwo')}`;
    const out = redactSecretValues(text, values);
    assertAbsent(out, CANARY);
    assert.ok(!out.includes('"42"'), "a quoted short value is replaced");
    assert.ok(out.includes("HTTP 422"), "an unquoted short value is left (it occurs in ordinary text by chance)");
    assert.ok(!out.includes("two"), "a value is also found JSON-escaped");
  });
});

describe("mooring diff on Secrets (diffApplication with a stub client)", () => {
  let server: http.Server;
  let url = "";
  let body = "";
  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.json`;
  });
  after(() => server.close());

  /** An Application whose render is `rendered`, against a cluster holding `live`, whose dry runs `apply` answers. */
  function stub(rendered: KubeObject[], live: KubeObject[], apply: (o: KubeObject) => KubeObject): Client {
    body = canonicalJson(rendered);
    const app = {
      apiVersion: "delivery.mooring.dev/v1alpha1",
      kind: "Application",
      metadata: { name: "web", namespace: "shop" },
      spec: { sourceRef: { kind: "GitRepository", name: "repo" } },
      status: {
        render: { artifact: { url, digest: `sha256:${createHash("sha256").update(body).digest("hex")}` } },
        sync: { inventory: [{ id: "shop_old__Secret", v: "v1" }] },
      },
    };
    const find = (kind: string | undefined, name: string) => (kind === "Application" ? app : live.find((o) => o.kind === kind && o.metadata?.name === name));
    return {
      get: (k: { kind?: string }, name: string) => Promise.resolve(structuredClone(find(k.kind, name))),
      kindOf: () => Promise.resolve({ namespaced: true }),
      apply: (o: KubeObject) => Promise.resolve(apply(o)),
    } as unknown as Client;
  }

  const capture = (): Io & { text(): string } => {
    const lines: string[] = [];
    return { color: false, out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join("\n") };
  };

  it("masks changed, created and pruned Secrets, the last-applied copy, and values quoted in API errors", async () => {
    const applied = JSON.stringify(secret(CANARY));
    const live = [secret(CANARY, {}, { [LAST_APPLIED]: applied }), { ...secret("pruned-canary-value"), metadata: { name: "old", namespace: "shop" } }];
    const fresh = { ...secret("created-canary-value"), metadata: { name: "fresh", namespace: "shop" } };
    const broken = { ...secret("refused-canary-value"), metadata: { name: "broken", namespace: "shop" } };
    const client = stub([secret(ROTATED), fresh, broken], live, (o) => {
      if (o.metadata?.name === "broken") throw new ApiError(422, { reason: "Invalid", message: `Secret "broken" is invalid: data[password]: Invalid value: "${b64("refused-canary-value")}"` }, "PATCH", "/api/v1/namespaces/shop/secrets/broken");
      // As the API server answers a dry-run apply: the live object's metadata, the applied data.
      const cur = live.find((l) => l.metadata?.name === o.metadata?.name);
      return { ...structuredClone(cur ?? {}), ...structuredClone(o), metadata: { ...(cur?.metadata ?? {}), ...o.metadata } };
    });
    const { diffs } = await diffApplication(client, { namespace: "shop", name: "web" });
    assert.deepEqual(diffs.map((d) => `${d.id}:${d.change}`).sort(), ["shop_broken__Secret:error", "shop_db__Secret:changed", "shop_fresh__Secret:created", "shop_old__Secret:pruned"]);
    const io = capture();
    printDiffs(diffs, io);
    const text = io.text();
    assertAbsent(text, CANARY, ROTATED, "created-canary-value", "pruned-canary-value", "refused-canary-value");
    assert.match(text, /^- {2}password: "\*\*\* \(before\)"$/m);
    assert.match(text, /^\+ {2}password: "\*\*\* \(after\)"$/m);
    assert.match(text, /broken__Secret: Secret "broken" is invalid: data\[password\]: Invalid value: "\*\*\*"/);

    const shown = await diffApplication(client, { namespace: "shop", name: "web", showSecrets: true });
    const all = capture();
    printDiffs(shown.diffs, all);
    assert.ok(all.text().includes(b64(ROTATED)) && all.text().includes(b64("refused-canary-value")), "showSecrets prints the values");
  });
});

describe("mooring render (the real entry point)", () => {
  const t = writeTree({
    "plain/secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    ${LAST_APPLIED}: '{"data":{"k":"${b64(CANARY)}"}}'\ndata:\n  k: ${b64(CANARY)}\nstringData:\n  p: ${CANARY}\n`,
    "chart/Chart.yaml": "name: c\nversion: 1.0.0\n",
    "chart/values.yaml": "password: default\n",
    "chart/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-values\nstringData:\n  password: {{values.password}}\n",
    "values/bad.yaml": `a: 1\npassword: ${CANARY}\n  broken: [x\n`,
  });
  after(() => t.cleanup());
  const mooring = (...args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, "render", ...args, "--root", t.dir], { cwd: ROOT });

  it("prints Secret values as *** in YAML and JSON, and reveals them with --show-secrets", async () => {
    for (const output of ["yaml", "json"]) {
      const masked = await mooring(path.join(t.dir, "plain"), "-o", output);
      assertAbsent(masked.stdout + masked.stderr, CANARY);
      assert.match(masked.stdout, /\*\*\*/);
      const shown = await mooring(path.join(t.dir, "plain"), "-o", output, "--show-secrets");
      assert.ok(shown.stdout.includes(b64(CANARY)) && shown.stdout.includes(CANARY), `--show-secrets prints the values (${output})`);
    }
    const chart = await mooring(path.join(t.dir, "chart"), "--set", `password=${CANARY}`);
    assertAbsent(chart.stdout + chart.stderr, CANARY);
  });

  it("never quotes a value in its errors", async () => {
    for (const args of [["--values", path.join(t.dir, "values/bad.yaml")], ["--set", `bad..key=${CANARY}`], ["--set", CANARY]]) {
      await assert.rejects(mooring(path.join(t.dir, "chart"), ...args), (err: { code?: number; stdout?: string; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr ?? "", /^mooring render: error: --(values|set)/);
        assertAbsent((err.stdout ?? "") + (err.stderr ?? ""), CANARY);
        return true;
      });
    }
  });
});

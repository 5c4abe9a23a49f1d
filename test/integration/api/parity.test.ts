// The in-process validator and the API server must agree: borderline values of every field with a CEL rule
// (whose TypeScript twin is hand-written) or a pattern, sent to both, must get the same verdict.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { installCrds, mooringKindOf, validate } from "../../../src/api/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { minimalApplication, minimalGitRepository, minimalSyncPolicy } from "../../support/api-fixtures.js";

type Obj = Record<string, any>;

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;

function variant(base: Obj, mutate: (spec: Obj) => void): Obj {
  const o = structuredClone(base);
  mutate(o.spec);
  return o;
}

const repo = minimalGitRepository("parity-repo");
const app = minimalApplication("parity-app");
const policy = minimalSyncPolicy("parity-policy");

const VARIANTS: { what: string; object: Obj }[] = [
  ...[
    "https://github.com/org/repo.git",
    "http://git.default.svc.cluster.local:8080/repo",
    "https://[::1]:8443/repo",
    "https://host",
    "HTTPS://github.com/org/repo",
    "https://",
    "http:///path",
    "https:github.com/org/repo",
    "ftp://x.example/repo",
    "file:///tmp/repo",
    "github.com/org/repo",
    "https://token@github.com/org/repo",
    "https://github.com/org/repo?ref=a@b",
    "https://github.com/user@example.com/repo",
  ].map((url) => ({ what: `url ${url}`, object: variant(repo, (s) => (s.url = url)) })),
  ...["10s", "9s", "9.999s", "10000ms", "0.5m", "1h0m0s", "1h30m", "10", "1d", "1m 30s", "-10s", "1.5h"].map((interval) => ({
    what: `interval ${interval}`,
    object: variant(repo, (s) => (s.interval = interval)),
  })),
  ...["1s", "999ms", "1h", "1h0m1s", "60m", "3600s", "3601s"].map((timeout) => ({ what: `timeout ${timeout}`, object: variant(repo, (s) => (s.timeout = timeout)) })),
  ...[{ branch: "main" }, { branch: "feature/x" }, { branch: "a b" }, { tag: "v1.0.0" }, { semver: "1.x" }, { commit: "A".repeat(40) }, { name: "refs/heads/main" }, { branch: "main", commit: "a".repeat(40) }, {}].map(
    (ref) => ({ what: `ref ${JSON.stringify(ref)}`, object: variant(repo, (s) => (s.ref = ref)) }),
  ),
  ...["./", ".", "apps/web", "/apps", "..", "../x", "a/..", "a/../b", "a..b", "..a", "a/.../b"].map((path) => ({ what: `path ${path}`, object: variant(app, (s) => (s.path = path)) })),
  ...[{ a: "1" }, { _x9: "1" }, { "9x": "1" }, { "a.b": "1" }, { "": "1" }, { ABC_def: "1" }].map((substitute) => ({
    what: `substitute ${JSON.stringify(substitute)}`,
    object: variant(app, (s) => (s.render = { substitute })),
  })),
  ...[
    { type: "auto", helm: {} },
    { type: "helm", helm: {} },
    { type: "plain", helm: {} },
    { type: "kustomize", kustomize: {} },
    { type: "helm", kustomize: {} },
    { helm: {}, kustomize: {} },
  ].map((render) => ({ what: `render ${JSON.stringify(render)}`, object: variant(app, (s) => (s.render = render)) })),
  ...[{ name: "x", newTag: "1" }, { name: "x", digest: `sha256:${"a".repeat(64)}` }, { name: "x" }].map((image) => ({
    what: `image ${JSON.stringify(image)}`,
    object: variant(app, (s) => (s.render = { kustomize: { images: [image] } })),
  })),
  ...[
    { duration: "1s", maxDuration: "1s" },
    { duration: "2s", maxDuration: "1999ms" },
    { duration: "1m" },
    { maxDuration: "4s" },
    { maxDuration: "5s" },
  ].map((backoff) => ({ what: `backoff ${JSON.stringify(backoff)}`, object: variant(policy, (s) => (s.retry = { backoff })) })),
  ...["1m", "59s", "8760h", "8761h"].map((duration) => ({ what: `window duration ${duration}`, object: variant(policy, (s) => (s.windows = [{ kind: "allow", schedule: "@daily", duration }])) })),
  ...[
    [{ kind: "allow", schedule: "@daily", duration: "1h" }, { kind: "allow", schedule: "@daily", duration: "1h" }],
  ].map((windows) => ({ what: `duplicate windows`, object: variant(policy, (s) => (s.windows = windows)) })),
];

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "api-parity");
});

after(async () => {
  await ns?.cleanup();
});

async function serverVerdict(obj: Obj): Promise<string | true> {
  const d = mooringKindOf(obj.apiVersion, obj.kind)!;
  const body = { ...obj, metadata: { ...obj.metadata, namespace: ns.name } };
  for (let attempt = 0; ; attempt++) {
    try {
      await custom.createNamespacedCustomObject({ group: d.group, version: d.version, plural: d.plural, namespace: ns.name, body, dryRun: "All", fieldValidation: "Strict" });
      return true;
    } catch (err) {
      // Right after the CRDs are (re)applied the resource may briefly be unknown (404): retry a few times.
      if (err instanceof k8s.ApiException && err.code === 404 && attempt < 20) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (err instanceof k8s.ApiException) return String(JSON.parse(err.body as string).message);
      throw err;
    }
  }
}

void describe("validator and API server agree", () => {
  void it(`give the same verdict on ${VARIANTS.length} borderline objects`, async () => {
    const disagreements: string[] = [];
    for (const v of VARIANTS) {
      const local = validate(v.object);
      const server = await serverVerdict(v.object);
      if (local.valid !== (server === true)) {
        disagreements.push(`${v.what}: validator ${local.valid ? "accepts" : `rejects (${local.errors.map((e) => `${e.field}: ${e.message}`).join("; ")})`}, API server ${server === true ? "accepts" : `rejects (${server})`}`);
      }
    }
    assert.deepEqual(disagreements, []);
  });
});

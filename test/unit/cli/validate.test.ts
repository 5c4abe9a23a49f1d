import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EXIT_INVALID, EXIT_UNREADABLE, EXIT_VALID, filesOf, runValidate } from "../../../src/cli/validate.js";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

let dir: string;

const GOOD_APP = `apiVersion: delivery.mooring.dev/v1alpha1
kind: Application
metadata: { name: web, namespace: demo }
spec:
  sourceRef: { kind: GitRepository, name: repo }
  interval: 1m
`;
const BAD_APP = `apiVersion: delivery.mooring.dev/v1alpha1
kind: Application
metadata: { name: broken, namespace: demo }
spec:
  sourceRef: { kind: GitRepository, name: repo }
  interval: 1s
`;
const BAD_POLICY = `apiVersion: delivery.mooring.dev/v1alpha1
kind: SyncPolicy
metadata: { name: nights }
spec:
  windows:
    - { kind: deny, schedule: "61 * * * *", duration: 1h, timeZone: Mars/Olympus }
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: not-ours }
spec: { whatever: true }
`;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, o: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-validate-"));
  fs.mkdirSync(path.join(dir, "good/nested"), { recursive: true });
  fs.mkdirSync(path.join(dir, "bad"), { recursive: true });
  fs.mkdirSync(path.join(dir, "good/.git"), { recursive: true });
  fs.mkdirSync(path.join(dir, "empty"), { recursive: true });
  fs.writeFileSync(path.join(dir, "good/app.yaml"), GOOD_APP + "---\n" + DEPLOYMENT);
  fs.writeFileSync(path.join(dir, "good/nested/policy.yml"), "apiVersion: delivery.mooring.dev/v1alpha1\nkind: SyncPolicy\nmetadata: { name: p }\n");
  fs.writeFileSync(path.join(dir, "good/nested/app.json"), JSON.stringify({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "j" }, spec: { sourceRef: { kind: "GitRepository", name: "r" } } }));
  fs.writeFileSync(path.join(dir, "good/README.md"), "not yaml: [");
  fs.writeFileSync(path.join(dir, "good/.git/config.yaml"), BAD_APP);
  fs.writeFileSync(path.join(dir, "bad/apps.yaml"), GOOD_APP + "---\n" + BAD_APP + "---\n" + BAD_POLICY);
  fs.writeFileSync(path.join(dir, "bad/syntax.yaml"), "apiVersion: delivery.mooring.dev/v1alpha1\nkind: [unclosed\n");
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("mooring validate", () => {
  it("finds *.yaml, *.yml and *.json below a directory, sorted, skipping hidden directories and other files", () => {
    assert.deepEqual(filesOf(path.join(dir, "good")).map((f) => path.relative(dir, f)), ["good/app.yaml", "good/nested/app.json", "good/nested/policy.yml"]);
  });

  it("exits 0 when every Mooring object is valid, ignoring other kinds", () => {
    const c = capture();
    const s = runValidate([path.join(dir, "good")], c.o);
    assert.equal(s.exitCode, EXIT_VALID);
    assert.equal(s.checked, 3);
    assert.deepEqual(c.out, []);
    assert.match(c.err.at(-1)!, /^3 Mooring objects in 3 files: valid$/);
  });

  it("prints file: ref: field: message for every error and exits 1", () => {
    const c = capture();
    const file = path.join(dir, "bad/apps.yaml");
    const s = runValidate([file], c.o);
    assert.equal(s.exitCode, EXIT_INVALID);
    assert.ok(c.out.includes(`${file}: Application demo/broken: spec.interval: interval must be at least 10s`), c.out.join("\n"));
    assert.ok(c.out.some((l) => l.startsWith(`${file}: SyncPolicy nights: spec.windows[0].schedule: `)), c.out.join("\n"));
    assert.ok(c.out.some((l) => l.startsWith(`${file}: SyncPolicy nights: spec.windows[0].timeZone: `)), c.out.join("\n"));
    assert.ok(!c.out.some((l) => l.includes("Application demo/web")), "the valid object is not reported");
    assert.equal(s.errors, c.out.length);
  });

  it("reports YAML syntax errors with the document and exits 1", () => {
    const c = capture();
    const file = path.join(dir, "bad/syntax.yaml");
    assert.equal(runValidate([file], c.o).exitCode, EXIT_INVALID);
    assert.match(c.out[0]!, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: document 1: YAML: `));
    assert.equal(c.out.length, 1);
    assert.match(c.out[0]!, /at line 3, column 1$/, "one line, without the code frame");
  });

  it("exits 2 when a path does not exist or holds no YAML, even if other paths have errors", () => {
    const c = capture();
    const s = runValidate([path.join(dir, "missing.yaml"), path.join(dir, "empty"), path.join(dir, "bad")], c.o);
    assert.equal(s.exitCode, EXIT_UNREADABLE);
    assert.ok(c.err.some((l) => l.includes("missing.yaml: cannot read: no such file or directory")));
    assert.ok(c.err.some((l) => l.endsWith("empty: no .yaml, .yml or .json files found")));
    assert.ok(c.out.length > 0, "errors in the readable paths are still printed");
  });

  it("works as a commander command: arguments, stdout lines and the process exit code (0 valid, 1 invalid)", async () => {
    const scriptFile = path.join(ROOT, "test/support/cli-main.ts");
    const ok = await run(process.execPath, ["--import", "tsx", scriptFile, "validate", path.join(dir, "good")], { cwd: ROOT });
    assert.equal(ok.stdout, "");
    await assert.rejects(run(process.execPath, ["--import", "tsx", scriptFile, "validate", path.join(dir, "bad/apps.yaml")], { cwd: ROOT }), (err: { code?: number; stdout?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stdout ?? "", /spec\.interval: interval must be at least 10s/);
      return true;
    });
  });
});

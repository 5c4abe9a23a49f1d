// Every fixture under test/fixtures/render/kustomize is rendered by Mooring's kustomize renderer and by
// `kubectl kustomize` (the oracle); the parsed objects must be equal, order-insensitive. A mismatch fails.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ArtifactRoot } from "../../../src/render/fs.js";
import { resolveLimits } from "../../../src/render/limits.js";
import { renderKustomize } from "../../../src/render/kustomize/index.js";
import { render } from "../../../src/render/index.js";
import { sortKeys } from "../../../src/render/canonical.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/render/kustomize");

function fixtureTarget(dir: string): string {
  // A fixture is rendered at its root, or at overlay/ when the root holds no kustomization.
  return fs.existsSync(path.join(dir, "kustomization.yaml")) ? "" : "overlay";
}

function byId(objs: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const o of objs as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[]) {
    const id = `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
    assert.ok(!m.has(id), `duplicate ${id}`);
    m.set(id, sortKeys(o));
  }
  return m;
}

const run = promisify(execFile);

async function oracle(dir: string): Promise<unknown[]> {
  const { stdout } = await run("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as unknown)
    .filter((v) => v !== null);
}

const names = fs
  .readdirSync(FIXTURES)
  .filter((n) => fs.statSync(path.join(FIXTURES, n)).isDirectory())
  .sort();

void describe("kustomize renderer matches kubectl kustomize", () => {
  // kubectl runs for every fixture up front, three at a time, so the file stays fast.
  const expectedByName = new Map<string, unknown[]>();
  before(async () => {
    const queue = [...names];
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const dir = path.join(FIXTURES, name);
        expectedByName.set(name, await oracle(path.join(dir, fixtureTarget(dir))));
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  });
  void it("has a corpus of at least 30 fixtures", () => {
    assert.ok(names.length >= 30, `only ${names.length} fixtures`);
  });
  void it("lists objects in the same order as kubectl kustomize (Kustomize's legacy order), for every fixture", () => {
    const id = (o: { kind: string; metadata: { name: string; namespace?: string } }): string => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const differing: string[] = [];
    for (const name of names) {
      const dir = path.join(FIXTURES, name);
      const target = fixtureTarget(dir);
      const ours = renderKustomize(new ArtifactRoot(dir, resolveLimits()), target).map(id);
      const theirs = (expectedByName.get(name)! as Parameters<typeof id>[0][]).map(id);
      if (ours.join(" ") !== theirs.join(" ")) differing.push(`${name}: mooring ${ours.join(" ")} / kubectl ${theirs.join(" ")}`);
    }
    assert.deepEqual(differing, []);
  });

  for (const name of names) {
    void it(name, () => {
      const dir = path.join(FIXTURES, name);
      const target = fixtureTarget(dir);
      const expected = byId(expectedByName.get(name)!);
      const root = new ArtifactRoot(dir, resolveLimits());
      const actual = byId(renderKustomize(root, target));
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), "object identities differ");
      for (const [id, obj] of expected) assert.deepEqual(actual.get(id), obj, `object ${id} differs`);
      // The whole render (the post-render shape, duplicate and size checks included) is what `mooring render` prints
      // and the controller stores: it must not refuse, or change, what kubectl kustomize outputs.
      const whole = byId(render(dir, target, { type: "kustomize" }).objects);
      assert.deepEqual([...whole.keys()].sort(), [...expected.keys()].sort(), "render(): object identities differ");
      for (const [id, obj] of expected) assert.deepEqual(whole.get(id), obj, `render(): object ${id} differs`);
    });
  }
});

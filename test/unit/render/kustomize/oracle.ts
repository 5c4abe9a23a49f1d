// `kubectl kustomize` as the oracle of the kustomize renderer: a case's files written to a directory, rendered by
// both, the objects compared whole and in order (shared by the property test and the focused kustomize tests).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { render } from "../../../../src/render/index.js";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { renderKustomize } from "../../../../src/render/kustomize/index.js";
import { sortKeys } from "../../../../src/render/canonical.js";

const run = promisify(execFile);

export type Obj = { apiVersion?: string; kind: string; metadata: { name: string; namespace?: string } };
const idOf = (o: Obj) => `${o.apiVersion ?? ""}|${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;

export async function kubectlKustomize(dir: string): Promise<{ ok: true; objects: Obj[] } | { ok: false; error: string }> {
  try {
    const { stdout } = await run("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
    return { ok: true, objects: parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter((v) => v !== null) };
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string; message: string };
    if (err.code === "ENOENT") throw new Error("kubectl is not installed: the oracle of this test is `kubectl kustomize`", { cause: e });
    return { ok: false, error: (err.stderr ?? err.message).trim() };
  }
}

export function mooring(dir: string, target: string): { ok: true; objects: Obj[]; viaRender: Obj[] } | { ok: false; error: string } {
  try {
    const objects = renderKustomize(new ArtifactRoot(dir, resolveLimits()), target) as unknown as Obj[];
    const viaRender = render(dir, target, { type: "kustomize" }).objects as unknown as Obj[];
    return { ok: true, objects, viaRender };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** The first difference between two renders, as text; undefined when they are the same (order included). */
export function difference(want: Obj[], got: Obj[]): string | undefined {
  const w = want.map(idOf);
  const g = got.map(idOf);
  const missing = w.filter((id) => !g.includes(id));
  const extra = g.filter((id) => !w.includes(id));
  if (missing.length || extra.length) return `objects differ: missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`;
  const byId = new Map(got.map((o) => [idOf(o), o]));
  for (const o of want) {
    try {
      assert.deepEqual(sortKeys(byId.get(idOf(o))), sortKeys(o));
    } catch (e) {
      return `object ${idOf(o)} differs (actual: mooring, expected: kubectl):\n${(e as Error).message}`;
    }
  }
  if (w.join(" ") !== g.join(" ")) return `order differs:\n  kubectl ${w.join(" ")}\n  mooring ${g.join(" ")}`;
  return undefined;
}

/** Writes `files` (relative path → YAML text) under a new directory of `work`. */
export function writeCase(work: string, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(work, "known-"));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** Both build the case and give the same objects; returns kubectl's, for assertions on what the case is about. */
export async function expectSameAsKubectl(dir: string, target: string): Promise<Obj[]> {
  const want = await kubectlKustomize(path.join(dir, target));
  assert.ok(want.ok, `kubectl refuses the case: ${want.ok ? "" : want.error}`);
  const got = mooring(dir, target);
  assert.ok(got.ok, `mooring refuses the case: ${got.ok ? "" : got.error}`);
  assert.equal(difference(want.objects, got.objects), undefined);
  assert.equal(difference(want.objects, got.viaRender), undefined, "render() differs from renderKustomize()");
  return want.objects;
}

/** Both refuse the case; returns kubectl's error. */
export async function expectBothRefuse(dir: string, target: string): Promise<string> {
  const want = await kubectlKustomize(path.join(dir, target));
  assert.ok(!want.ok, "kubectl builds the case");
  const got = mooring(dir, target);
  assert.ok(!got.ok, `kubectl refuses the case (${want.error}), mooring builds it`);
  return want.error;
}

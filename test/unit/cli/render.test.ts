import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { defaultRoot, registerRenderCommands, runRender, setPath } from "../../../src/cli/render.js";
import { writeTree } from "../render/tree.js";

const chart = {
  "Chart.yaml": "name: c\nversion: 1.0.0\n",
  "values.yaml": "replicas: 1\nimage:\n  tag: a\n",
  "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{release.name}}\ndata:\n  replicas: {{quote values.replicas}}\n  tag: {{values.image.tag}}\n",
  "kz/kustomization.yaml": "namePrefix: k-\nresources:\n- cm.yaml\n",
  "kz/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
};

const defaults = { type: "auto" as const, values: [] as string[], set: [] as string[], output: "yaml" as const };

void describe("mooring render", () => {
  const t = writeTree(chart);
  const v = writeTree({ "prod.yaml": "replicas: 3\nimage:\n  tag: b\n" });
  after(() => {
    t.cleanup();
    v.cleanup();
  });

  void it("prints multi-document YAML with --values and --set applied in order", () => {
    const out = runRender(t.dir, { ...defaults, values: [path.join(v.dir, "prod.yaml")], set: ["image.tag=c"], namespace: "ns", release: "rel" });
    const docs = parseAllDocuments(out).map((d) => d.toJS() as { metadata: { name: string; namespace: string }; data: Record<string, string> });
    assert.equal(docs.length, 1);
    assert.equal(docs[0]!.metadata.name, "rel");
    assert.equal(docs[0]!.metadata.namespace, "ns");
    assert.deepEqual(docs[0]!.data, { replicas: "3", tag: "c" });
  });

  void it("prints JSON with -o json and renders kustomizations", () => {
    const out = JSON.parse(runRender(path.join(t.dir, "kz"), { ...defaults, output: "json" })) as { metadata: { name: string } }[];
    assert.deepEqual(
      out.map((o) => o.metadata.name),
      ["k-x"],
    );
  });

  void it("renders a single manifest file", () => {
    const out = runRender(path.join(t.dir, "kz", "cm.yaml"), { ...defaults, output: "json" });
    assert.deepEqual(
      (JSON.parse(out) as { metadata: { name: string } }[]).map((o) => o.metadata.name),
      ["x"],
    );
  });

  void it("renders an overlay that uses ../base: the root is the enclosing Git work tree, or --root", () => {
    const repo = writeTree({
      ".git/HEAD": "ref: refs/heads/main\n",
      "deploy/base/kustomization.yaml": "resources:\n- cm.yaml\n",
      "deploy/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
      "deploy/prod/kustomization.yaml": "namePrefix: prod-\nresources:\n- ../base\n",
    });
    try {
      const overlay = path.join(repo.dir, "deploy", "prod");
      assert.equal(defaultRoot(overlay), repo.dir);
      const names = (out: string): string[] => (JSON.parse(out) as { metadata: { name: string } }[]).map((o) => o.metadata.name);
      assert.deepEqual(names(runRender(overlay, { ...defaults, output: "json" })), ["prod-cm"]);
      assert.deepEqual(names(runRender(overlay, { ...defaults, output: "json", root: path.join(repo.dir, "deploy") })), ["prod-cm"]);
      assert.throws(() => runRender(overlay, { ...defaults, root: overlay }), /escapes the artifact root/);
    } finally {
      repo.cleanup();
    }
  });

  void it("--set parses typed scalars and nested keys", () => {
    const o: Record<string, unknown> = {};
    setPath(o, "a.b=3");
    setPath(o, "a.c=true");
    setPath(o, "s=hello world");
    assert.deepEqual(o, { a: { b: 3, c: true }, s: "hello world" });
    assert.throws(() => setPath(o, "__proto__.x=1"), /bad key/);
  });

  void it("exits non-zero with the renderer's message on error", async () => {
    const bad = writeTree({ "kustomization.yaml": "resources:\n- missing.yaml\n" });
    const program = new Command("mooring").exitOverride();
    registerRenderCommands(program);
    const errs: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errs.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await program.parseAsync(["node", "mooring", "render", bad.dir]);
    } finally {
      process.stderr.write = orig;
      bad.cleanup();
    }
    assert.equal(process.exitCode, 1);
    process.exitCode = 0;
    assert.match(errs.join(""), /kustomization.yaml: resource "missing.yaml" does not exist/);
  });
});

import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { render, serialize } from "../../../src/render/index.js";
import { writeTree } from "./tree.js";

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

void describe("plain renderer", () => {
  const t = writeTree({
    "b.yaml": cm("b"),
    "a.yml": `${cm("a1")}---\n---\n# only a comment\n---\n${cm("a2")}`,
    "sub/z.json": JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "svc" } }),
    "sub/deeper/c.yaml": cm("c"),
    "list.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + cm("l1").trim().replace(/\n/g, "\n  ") + "\n- apiVersion: v1\n  kind: ConfigMapList\n  items:\n  - " + cm("l2").trim().replace(/\n/g, "\n    ") + "\n",
    "README.md": "not yaml: [",
    ".hidden/x.yaml": cm("hidden"),
  });
  after(() => t.cleanup());

  void it("reads .yaml/.yml/.json recursively in byte order, skipping empty documents, flattening Lists", () => {
    const out = render(t.dir, "", { type: "plain" });
    assert.equal(out.type, "plain");
    assert.deepEqual(
      out.objects.map((o) => o.metadata.name),
      ["a1", "a2", "b", "l1", "l2", "c", "svc"],
    );
  });

  void it("auto-detects plain when there is no kustomization or chart", () => {
    assert.equal(render(t.dir, "sub").type, "plain");
    assert.deepEqual(
      render(t.dir, "sub").objects.map((o) => o.kind),
      ["ConfigMap", "Service"],
    );
  });

  void it("renders a single file path", () => {
    assert.deepEqual(
      render(t.dir, "b.yaml").objects.map((o) => o.metadata.name),
      ["b"],
    );
  });

  void it("gives the same digest for the same input and a different one when an object changes", () => {
    const d1 = render(t.dir, "").digest;
    assert.match(d1, /^sha256:[0-9a-f]{64}$/);
    assert.equal(render(t.dir, "").digest, d1);
    const t2 = writeTree({ "a.yaml": cm("a1") + "data:\n  k: v\n" });
    const t3 = writeTree({ "a.yaml": "metadata:\n  name: a1\nkind: ConfigMap\napiVersion: v1\ndata: {k: v}\n" });
    try {
      // Key order in the source does not change the digest; content does.
      assert.equal(render(t2.dir, "").digest, render(t3.dir, "").digest);
      assert.notEqual(render(t2.dir, "").digest, d1);
    } finally {
      t2.cleanup();
      t3.cleanup();
    }
  });
});

void describe("YAML scalars as Kubernetes tooling reads them", () => {
  void it("reads 0644 as octal, keeps yes/on as strings, and writes ambiguous strings quoted", () => {
    const t = writeTree({ "a.yaml": `${cm("s")}data:\n  a: yes\n  b: "0644"\n  c: "0o17"\n  d: "on"\nbinaryData: {}\nmode: 0644\n` });
    try {
      const out = render(t.dir, "");
      const o = out.objects[0]!;
      assert.equal(o.mode, 420);
      assert.deepEqual(o.data, { a: "yes", b: "0644", c: "0o17", d: "on" });
      const text = serialize(out.objects, "yaml");
      assert.match(text, /a: "yes"/);
      assert.match(text, /b: "0644"/);
      assert.match(text, /c: "0o17"/);
      assert.match(text, /d: "on"/);
      assert.match(text, /mode: 420/);
    } finally {
      t.cleanup();
    }
  });
});

// Annotation values as Kustomize writes them (src/render/kustomize/annotations.ts): strings spelt as in the file,
// Go's spelling of numbers that came through JSON, an empty or null map removed. The expected texts are what
// `kubectl kustomize` v5.5.0 prints for the same values (fixture 69-annotation-strings compares whole builds).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { finishAnnotations, goFloat, mergePatchAnnotationTexts, recordAnnotationTexts, recordPatchAnnotationTexts } from "../../../../src/render/kustomize/annotations.js";
import { parseManifestDocs } from "../../../../src/render/kustomize/fastyaml.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { JsonMap, KubeObject } from "../../../../src/render/objects.js";

/** The resources of `text` (one per document, Lists not inlined), their spellings recorded. */
function read(text: string): Res[] {
  const docs = parseManifestDocs(text, "r.yaml", resolveLimits());
  const read = docs.map((d) => ({ res: newRes(d.value as KubeObject, "r.yaml", d.line), obj: d.value as JsonMap, line: d.line, path: [] }));
  recordAnnotationTexts(text, read);
  return read.map((e) => e.res);
}

const annotations = (r: Res): unknown => r.obj.metadata.annotations;
/** Annotation values as a transformer may leave them (KubeObject types them as strings, as they should end up). */
const setAnnotations = (r: Res, a: Record<string, unknown>): void => {
  (r.obj.metadata as JsonMap).annotations = a;
};

void describe("kustomize annotations", () => {
  void it("writes each value as spelt in its file; maps and lists as empty strings", () => {
    const [r] = read(["kind: A", "metadata:", "  name: a", "  annotations:", "    f: 1.50", "    h: 0x1F", "    t: ~", "    e:", "    b: TRUE", "    m: {a: 1}", "    l: [1]", "    s: str", ""].join("\n"));
    finishAnnotations(r!);
    assert.deepEqual(annotations(r!), { f: "1.50", h: "0x1F", t: "~", e: "", b: "TRUE", m: "", l: "", s: "str" });
  });

  void it("finds the document by its line, also among several and inside a List", () => {
    const text = ["kind: A", "metadata: {name: a}", "---", "# c", "kind: B", "metadata:", "  name: b", "  annotations: {x: 01}", ""].join("\n");
    const [a, b] = read(text);
    finishAnnotations(a!);
    finishAnnotations(b!);
    assert.equal(annotations(a!), undefined);
    assert.deepEqual(annotations(b!), { x: "01" });
    const list = "kind: List\nitems:\n- kind: C\n  metadata:\n    name: c\n    annotations: {n: 2.0}\n";
    const r = newRes({ apiVersion: "v1", kind: "C", metadata: { name: "c" } }, "l.yaml", 1);
    setAnnotations(r, { n: 2 });
    recordAnnotationTexts(list, [{ res: r, obj: r.obj, line: 1, path: ["items", 0] }]);
    finishAnnotations(r);
    assert.deepEqual(annotations(r), { n: "2.0" });
  });

  void it("uses Go's spelling for a value that is no longer the one read (a JSON patch, a transformer)", () => {
    const [r] = read("kind: A\nmetadata:\n  name: a\n  annotations: {f: 1.50}\n");
    setAnnotations(r!, { f: 1.5000001, m: 1000000, s: 0.000012, k: 123456, t: true, n: null, big: 12345678901234567000 });
    finishAnnotations(r!);
    assert.deepEqual(annotations(r!), { f: "1.5000001", m: "1e+06", s: "1.2e-05", k: "123456", t: "true", n: "null", big: "1.2345678901234567e+19" });
    assert.deepEqual([goFloat(-0.0001), goFloat(-0.00001), goFloat(1e21), goFloat(Infinity), goFloat(NaN)], ["-0.0001", "-1e-05", "1e+21", ".inf", ".nan"]);
  });

  void it("drops an empty or null annotations map and leaves labels alone", () => {
    for (const a of [{}, null]) {
      const r = newRes({ kind: "A", metadata: { name: "a", annotations: a, labels: { n: 1 } } } as unknown as KubeObject, "r.yaml");
      finishAnnotations(r);
      assert.deepEqual(r.obj.metadata, { name: "a", labels: { n: 1 } });
    }
  });

  void it("takes a strategic merge patch's spelling for the values it sets", () => {
    const [r] = read("kind: A\nmetadata:\n  name: a\n  annotations: {kept: 2.50, set: 1}\n");
    const patchText = "kind: A\nmetadata:\n  name: a\n  annotations: {set: 7.0}\n";
    const patch = parseManifestDocs(patchText, "p.yaml", resolveLimits())[0]!;
    recordPatchAnnotationTexts(patchText, [{ obj: patch.value as JsonMap, line: patch.line, path: [] }]);
    setAnnotations(r!, { kept: 2.5, set: 7 });
    mergePatchAnnotationTexts(r!, patch.value as JsonMap);
    finishAnnotations(r!);
    assert.deepEqual(annotations(r!), { kept: "2.50", set: "7.0" });
  });
});

// The field specs a kustomization's `crds:` OpenAPI definitions declare (src/render/kustomize/crds.ts): annotations,
// label selectors, identities and object references on a kind's properties, followed through $ref, with the
// definition wrapped as Kustomize's Go decoding accepts it; definitions that are not kinds are skipped.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configFromCrds } from "../../../../src/render/kustomize/crds.js";

const F = "crds/mycrd.json";
const kindProps = { kind: { type: "string" }, apiVersion: { type: "string" }, metadata: { $ref: "io.k8s.ObjectMeta" } };

void describe("kustomize crds", () => {
  void it("reads the x-kubernetes extensions of a kind's properties, through $ref, into field specs", () => {
    const doc = {
      "example.com.v1.MyKind": {
        Schema: {
          properties: {
            ...kindProps,
            spec: { $ref: "example.com.v1.MyKindSpec" },
          },
        },
      },
      "example.com.v1.MyKindSpec": {
        properties: {
          configRef: { "x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "ConfigMap" },
          secretRef: { "x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "Secret", "x-kubernetes-object-ref-name-key": "secretName" },
          selector: { "x-kubernetes-label-selector": "" },
          notes: { "x-kubernetes-annotation": "" },
          id: { "x-kubernetes-identity": "" },
          plain: { type: "string" },
        },
      },
    };
    const tc = configFromCrds(doc, F);
    assert.deepEqual(tc.nameReference, [
      { kind: "ConfigMap", version: "v1", fieldSpecs: [{ kind: "MyKind", path: "spec/configRef/name" }] },
      { kind: "Secret", version: "v1", fieldSpecs: [{ kind: "MyKind", path: "spec/secretRef/secretName" }] },
    ]);
    assert.deepEqual(tc.commonLabels, [{ kind: "MyKind", path: "spec/selector" }]);
    assert.deepEqual(tc.commonAnnotations, [{ kind: "MyKind", path: "spec/notes" }]);
    assert.deepEqual(tc.namePrefix, [{ kind: "MyKind", path: "spec/id" }]);
    assert.deepEqual([tc.namespace, tc.images, tc.varReference], [[], [], []]);
  });

  void it("accepts the schema under Schema, schema or at the top, and skips definitions that are not kinds", () => {
    const annotated = (wrap: (p: object) => object) => ({ "a.b.v1.K": wrap({ ...kindProps, note: { "x-kubernetes-annotation": "" } }) });
    for (const wrap of [(p: object) => ({ Schema: { properties: p } }), (p: object) => ({ schema: { properties: p } }), (p: object) => ({ properties: p })]) {
      assert.deepEqual(configFromCrds(annotated(wrap), F).commonAnnotations, [{ kind: "K", path: "note" }]);
    }
    const notAKind = { "a.b.v1.Spec": { properties: { kind: {}, note: { "x-kubernetes-annotation": "" } } } };
    assert.deepEqual(configFromCrds(notAKind, F).commonAnnotations, []);
  });

  void it("merges the specs of several kinds, and stops a $ref cycle", () => {
    const doc = {
      "x.v1.A": { properties: { ...kindProps, self: { $ref: "x.v1.A" }, n: { "x-kubernetes-annotation": "" } } },
      "x.v1.B": { properties: { ...kindProps, n: { "x-kubernetes-annotation": "" } } },
    };
    const paths = configFromCrds(doc, F).commonAnnotations.map((s) => `${s.kind}:${s.path}`);
    assert.ok(paths.includes("A:n") && paths.includes("B:n") && paths.includes("A:self/n"), paths.join(" "));
    assert.equal(paths.length, 22, "A's n at depths 0..20 (the cycle is cut there), and B's");
  });

  void it("refuses a document that is not a map of definitions", () => {
    for (const doc of [[], "x", null]) {
      assert.throws(() => configFromCrds(doc, F), { message: `${F}: unable to parse open API definition: expected a map of type names to definitions` });
    }
  });
});

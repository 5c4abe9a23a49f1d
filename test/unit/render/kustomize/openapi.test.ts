import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadCustomSchema } from "../../../../src/render/kustomize/openapi.js";

void describe("kustomize building blocks added for real-world kustomizations", () => {
  void it("reads list strategies from a custom OpenAPI schema, following $ref and array items", () => {
    const schema = loadCustomSchema(
      {
        definitions: {
          T: { "x-kubernetes-group-version-kind": [{ group: "g.io", version: "v1", kind: "T" }], properties: { spec: { $ref: "#/definitions/S" } } },
          S: {
            properties: {
              items: { type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id", items: { $ref: "#/definitions/I" } },
              tags: { type: "array", "x-kubernetes-patch-strategy": "merge" },
              plain: { type: "array" },
            },
          },
          I: { properties: { ports: { type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-map-keys": ["port", "protocol"] } } },
        },
      },
      "schema.json",
    );
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "items"]), { strategy: "merge", keys: ["id"] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "items", "ports"]), { strategy: "merge", keys: ["port", "protocol"] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "tags"]), { strategy: "merge", keys: [] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "plain"]), { strategy: "replace", keys: [] });
    assert.deepEqual(schema.listStrategy("apps/v1", "Deployment", ["spec", "template", "spec", "containers"]), { strategy: "replace", keys: [] });
  });
});

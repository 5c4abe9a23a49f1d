// helm's stderr as RenderErrors that say where (src/render/helm/errors.ts), without running helm: the messages are
// those helm v3 prints (helm-go-errors.test.ts gets them from the real binary).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { actionAt, helmError, requiredValue, toArtifactPath } from "../../../../src/render/helm/errors.js";

const ctx = { dir: "charts/shop", chartName: "shop" };

void describe("helm errors", () => {
  void it("maps helm's chart paths to artifact paths, leaving other charts' alone", () => {
    assert.equal(toArtifactPath("shop/templates/a.yaml", ctx), "charts/shop/templates/a.yaml");
    assert.equal(toArtifactPath("shop/charts/db/templates/b.yaml", ctx), "charts/shop/charts/db/templates/b.yaml");
    assert.equal(toArtifactPath("other/templates/a.yaml", ctx), "other/templates/a.yaml");
  });

  void it("finds the action at a line and column, and the value a required call asks for", () => {
    const text = 'a: 1\nhost: {{- required "set host" .Values.host -}}\n';
    const action = actionAt(text, 2, 11);
    assert.equal(action, 'required "set host" .Values.host');
    assert.equal(requiredValue(action!), ".Values.host");
    assert.equal(requiredValue('required "x" (.Values.a.b)'), ".Values.a.b");
    assert.equal(requiredValue("toYaml .Values"), undefined);
    assert.equal(actionAt(text, 9, 1), undefined);
    assert.equal(actionAt(text, 1, 1), undefined);
  });

  void it("names the template file and line of an execution error, and the missing required value", () => {
    const source = (p: string) => (p === "shop/templates/svc.yaml" ? 'a: 1\nhost: {{ required "set host" .Values.host }}\n' : undefined);
    const err = helmError('Error: execution error at (shop/templates/svc.yaml:2:9): set host\n', { ...ctx, source });
    assert.deepEqual([err.file, err.line, err.message], ["charts/shop/templates/svc.yaml", 2, "charts/shop/templates/svc.yaml:2: required value .Values.host is missing: set host"]);
    const parse = helmError("Error: parse error at (shop/templates/x.yaml:3): function \"nope\" not defined", ctx);
    assert.equal(parse.message, 'charts/shop/templates/x.yaml:3: template syntax error: function "nope" not defined');
  });

  void it("names the values field a schema refused, and Chart.yaml for chart-level problems", () => {
    const schema = helmError("Error: values don't meet the specifications of the schema(s) in the following chart(s):\nshop:\n- at '/replicas': got string, want integer\n", ctx);
    assert.deepEqual([schema.file, schema.message], ["charts/shop/values.schema.json", "charts/shop/values.schema.json: values do not match the chart's schema: values.replicas: got string, want integer"]);
    const kube = helmError("Error: chart requires kubeVersion: >=1.40 which is incompatible with Kubernetes v1.36.3", ctx);
    assert.equal(kube.file, "charts/shop/Chart.yaml");
    const yaml = helmError("Error: YAML parse error on shop/templates/list.yaml: error converting YAML to JSON: json: cannot unmarshal array into Go value of type releaseutil.SimpleHead", ctx);
    assert.equal(yaml.message, "charts/shop/templates/list.yaml: the template rendered a document that is a list, not a Kubernetes object");
    assert.equal(helmError("", ctx).message, "charts/shop: helm template failed: helm template failed without a message");
  });
});

// values.yaml is the chart's documentation: every key has a comment, every key is in the schema (and the
// other way round), and the defaults it documents are the operator's own flag defaults.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { isMap, parse, parseDocument, type YAMLMap } from "yaml";
import { parseOperatorArgs } from "../../../src/config.js";
import { CHART_DIR } from "../../support/helm.js";

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; $ref?: string; additionalProperties?: boolean | Schema; definitions?: Record<string, Schema> };

const valuesText = readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8");
const values = parse(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(path.join(CHART_DIR, "values.schema.json"), "utf8")) as Schema;

const resolve = (s: Schema): Schema => (s.$ref ? schema.definitions![s.$ref.replace("#/definitions/", "")]! : s);

void describe("chart: values.yaml and values.schema.json", () => {
  void it("documents every key with a comment", () => {
    const undocumented: string[] = [];
    const walk = (map: YAMLMap, prefix: string) => {
      map.items.forEach((pair, i) => {
        const key = (pair.key as { value: string; commentBefore?: string | null }).value;
        const comment = (pair.key as { commentBefore?: string | null }).commentBefore ?? (i === 0 ? map.commentBefore : undefined);
        if (!comment?.trim()) undocumented.push(prefix + key);
        if (isMap(pair.value)) walk(pair.value, `${prefix}${key}.`);
      });
    };
    const doc = parseDocument(valuesText);
    assert.ok(isMap(doc.contents));
    walk(doc.contents, "");
    assert.deepEqual(undocumented, [], "values without a comment above them");
  });

  void it("declares exactly the keys of values.yaml in the schema, refusing unknown keys in the chart's own objects", () => {
    const problems: string[] = [];
    const walk = (value: unknown, s: Schema, at: string) => {
      s = resolve(s);
      if (!value || typeof value !== "object" || Array.isArray(value) || !s.properties) return;
      if (s.additionalProperties !== false) problems.push(`${at || "(top)"}: schema allows unknown keys`);
      for (const k of Object.keys(value)) {
        const child = s.properties[k];
        if (!child) problems.push(`${at}${k}: in values.yaml, not in the schema`);
        else walk((value as Record<string, unknown>)[k], child, `${at}${k}.`);
      }
      for (const k of Object.keys(s.properties)) if (!(k in value)) problems.push(`${at}${k}: in the schema, no default in values.yaml`);
    };
    walk(values, schema, "");
    assert.deepEqual(problems, []);
  });

  void it("accepts its own defaults (checked with a second JSON Schema implementation)", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    assert.equal(validate(values), true, JSON.stringify(validate.errors));
    assert.equal(validate({ ...values, mode: "bogus" }), false);
  });

  void it("documents the operator's real flag defaults", () => {
    const defaults = parseOperatorArgs([]);
    assert.equal(values.logLevel, defaults.logLevel);
    assert.equal(values.concurrency, defaults.concurrency);
    assert.equal(values.qps, defaults.qps);
    assert.equal(values.burst, defaults.burst);
    assert.equal(values.allowCrossNamespaceRefs, defaults.allowCrossNamespaceRefs);
    assert.equal(values.defaultServiceAccount, defaults.defaultServiceAccount);
    const ports = values.ports as Record<string, number>;
    assert.equal(`:${ports.metrics}`, defaults.metricsAddr);
    assert.equal(`:${ports.health}`, defaults.healthAddr);
    assert.equal(`:${ports.artifact}`, defaults.artifactAddr);
    assert.equal(`:${ports.webhook}`, defaults.webhookAddr);
  });

  void it("installs the release of this repository: appVersion is package.json's version, kubeVersion allows 1.28+", () => {
    const chart = parse(readFileSync(path.join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string; kubeVersion: string; apiVersion: string };
    const pkg = JSON.parse(readFileSync(path.join(CHART_DIR, "../../package.json"), "utf8")) as { version: string };
    assert.equal(chart.apiVersion, "v2");
    assert.equal(chart.appVersion, pkg.version);
    assert.equal(chart.kubeVersion, ">=1.28.0-0");
  });

  void it("offers the same log levels and modes as the operator", () => {
    const props = schema.properties!;
    assert.deepEqual((props.logLevel as { enum: string[] }).enum, ["error", "warn", "info", "debug"]);
    assert.throws(() => parseOperatorArgs(["--log-level", "loud"]));
    for (const level of (props.logLevel as { enum: string[] }).enum) assert.equal(parseOperatorArgs(["--log-level", level]).logLevel, level);
    for (const format of (props.logFormat as { enum: string[] }).enum) assert.equal(parseOperatorArgs(["--log-format", format]).logFormat, format);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ApplicationDefaults, GitRepositoryDefaults, SyncPolicyDefaults, applyDefaults, assertValid, defaultSyncPolicySpec, InvalidObjectError, pointerToField, validate, validateYaml,
} from "../../../src/api/index.js";
import { INVALID_CASES, fullStatus, loadExamples, minimalApplication, minimalGitRepository, minimalSyncPolicy } from "../../support/api-fixtures.js";

void describe("validate: examples", () => {
  const examples = loadExamples();

  void it("finds an example of every kind", () => {
    const kinds = new Set(examples.map((e) => e.object.kind));
    assert.deepEqual([...kinds].sort(), ["Application", "GitRepository", "HelmChart", "HelmRepository", "SyncPolicy"]);
  });

  for (const { file, object } of examples) {
    void it(`accepts ${object.kind} ${object.metadata?.name} from ${file}`, () => {
      const r = validate(object);
      assert.deepEqual(r.errors, []);
      assert.equal(r.valid, true);
    });
  }

  void it("accepts a status with every field, for each kind", () => {
    for (const obj of [minimalGitRepository(), minimalApplication(), minimalSyncPolicy()]) {
      const r = validate({ ...obj, status: fullStatus(obj.kind, 1) });
      assert.deepEqual(r.errors, [], obj.kind);
    }
  });
});

void describe("validate: invalid objects", () => {
  void it("has a table of at least 25 cases", () => assert.ok(INVALID_CASES.length >= 25, `${INVALID_CASES.length} cases`));

  for (const c of INVALID_CASES) {
    void it(`rejects ${c.name}, naming ${c.field}`, () => {
      const r = validate(c.object);
      assert.equal(r.valid, false, "the object was accepted");
      const named = r.errors.filter((e) => e.field === c.field);
      assert.ok(named.length > 0, `no error names ${c.field}; errors: ${JSON.stringify(r.errors)}`);
      if (c.says) assert.ok(named.some((e) => e.message.includes(c.says!)), `no message for ${c.field} says "${c.says}": ${JSON.stringify(named)}`);
    });
  }

  void it("does not modify its input", () => {
    const obj = minimalApplication();
    const before = JSON.stringify(obj);
    validate(obj);
    assert.equal(JSON.stringify(obj), before);
  });

  void it("rejects objects that are not Mooring kinds, saying which kinds exist", () => {
    const r = validate({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    assert.equal(r.valid, false);
    assert.equal(r.errors[0]!.field, "kind");
    assert.match(r.errors[0]!.message, /GitRepository/);
    const wrongVersion = validate({ ...minimalGitRepository(), apiVersion: "source.mooring.dev/v1" });
    assert.equal(wrongVersion.errors[0]!.field, "apiVersion");
    assert.equal(validate("text").valid, false);
  });

  void it("applies the checks the API server cannot make: cron syntax, semver ranges, time zones", () => {
    const cron = validate({ ...minimalSyncPolicy(), spec: { windows: [{ kind: "allow", schedule: "61 * * * *", duration: "1h" }] } });
    assert.deepEqual(cron.errors.map((e) => e.field), ["spec.windows[0].schedule"]);
    const tz = validate({ ...minimalSyncPolicy(), spec: { windows: [{ kind: "allow", schedule: "@daily", duration: "1h", timeZone: "Mars/Olympus" }] } });
    assert.deepEqual(tz.errors.map((e) => e.field), ["spec.windows[0].timeZone"]);
    const range = validate({ ...minimalGitRepository(), spec: { url: "https://x.example/r", ref: { semver: "not a range!" } } });
    assert.deepEqual(range.errors.map((e) => e.field), ["spec.ref.semver"]);
    assert.equal(validate({ ...minimalGitRepository(), spec: { url: "https://x.example/r", ref: { semver: ">=1.2.0 <2.0.0" } } }).valid, true);
  });

  void it("rejects duplicate condition types (conditions are a list-map keyed by type)", () => {
    const status = fullStatus("GitRepository", 1);
    status.conditions.push({ ...status.conditions[0] });
    const r = validate({ ...minimalGitRepository(), status });
    assert.deepEqual(r.errors.map((e) => e.field), ["status.conditions[2]"]);
    assert.match(r.errors[0]!.message, /duplicate/);
  });

  void it("assertValid throws an error that names the object and every field", () => {
    const obj = { ...minimalGitRepository(), metadata: { name: "r", namespace: "team" }, spec: { url: "ftp://x", interval: "1s" } };
    assert.throws(
      () => assertValid(obj),
      (err: unknown) => {
        assert.ok(err instanceof InvalidObjectError);
        assert.match(err.message, /^GitRepository team\/r is invalid: /);
        assert.deepEqual(err.errors.map((e) => e.field).sort(), ["spec.interval", "spec.url"]);
        return true;
      },
    );
  });
});

void describe("applyDefaults", () => {
  void it("fills in the documented GitRepository defaults", () => {
    const spec = applyDefaults(minimalGitRepository()).spec;
    assert.equal(spec.interval, GitRepositoryDefaults.interval);
    assert.equal(spec.interval, "1m");
    assert.equal(spec.timeout, "60s");
    assert.equal(spec.suspend, false);
    assert.equal(spec.ref, undefined, "no ref means the remote's HEAD");
  });

  void it("fills in the documented Application defaults, including nested ones", () => {
    const o = minimalApplication();
    o.spec.render = { helm: { valuesFrom: [{ kind: "ConfigMap", name: "v" }] } };
    const spec = applyDefaults(o).spec;
    assert.equal(spec.path, "./");
    assert.equal(spec.path, ApplicationDefaults.path);
    assert.equal(spec.render.type, "auto");
    assert.equal(spec.render.helm.valuesFrom[0].key, "values.yaml");
    assert.equal(spec.render.helm.valuesFrom[0].optional, false);
    assert.equal(spec.interval, "5m");
    assert.equal(spec.timeout, "5m");
    assert.equal(spec.suspend, false);
    assert.equal(applyDefaults(minimalApplication()).spec.render.type, "auto", "render defaults to {} so its type defaults too");
  });

  void it("gives an empty SyncPolicy automated sync with prune and self-heal", () => {
    const spec = defaultSyncPolicySpec();
    assert.deepEqual(spec.automated, { enabled: true, prune: true, selfHeal: true, allowEmpty: false });
    assert.deepEqual(spec.retry, { limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } });
    assert.deepEqual(spec.options, { createNamespace: false, pruneLast: false, prunePropagationPolicy: "background", force: false, applyOutOfSyncOnly: false });
    assert.deepEqual(spec.health, { wait: true });
    const withoutSpec: Record<string, unknown> = minimalSyncPolicy();
    delete withoutSpec.spec;
    assert.deepEqual(spec, (applyDefaults(withoutSpec) as { spec?: unknown }).spec, "a SyncPolicy without spec gets the same");
    assert.deepEqual({ automated: spec.automated, retry: spec.retry, options: spec.options, health: spec.health }, {
      automated: SyncPolicyDefaults.automated,
      retry: SyncPolicyDefaults.retry,
      options: SyncPolicyDefaults.options,
      health: SyncPolicyDefaults.health,
    });
    const w = applyDefaults({ ...minimalSyncPolicy(), spec: { windows: [{ kind: "deny", schedule: "@daily", duration: "1h" }] as Record<string, unknown>[] } }).spec;
    assert.equal(w.windows[0].timeZone, "UTC");
    assert.equal(w.windows[0].manualSync, false);
  });

  void it("keeps values the user set and leaves the input alone", () => {
    const o = minimalGitRepository();
    o.spec.interval = "10m";
    const d = applyDefaults(o);
    assert.equal(d.spec.interval, "10m");
    assert.equal(o.spec.timeout, undefined);
  });
});

void describe("pointerToField", () => {
  void it("names fields the way the API server does", () => {
    assert.equal(pointerToField("/spec/dependsOn/0/name"), "spec.dependsOn[0].name");
    assert.equal(pointerToField("/spec/render/substitute/a.b"), "spec.render.substitute[a.b]");
    assert.equal(pointerToField("/metadata/annotations/mooring.dev~1x"), "metadata.annotations[mooring.dev/x]");
    assert.equal(pointerToField(""), "");
  });
});

void describe("validateYaml", () => {
  void it("checks each Mooring document of a stream, skips other kinds and reports YAML errors", () => {
    const text = [
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vars}\ndata: {a: b}",
      "apiVersion: source.mooring.dev/v1alpha1\nkind: GitRepository\nmetadata: {name: ok}\nspec: {url: 'https://x.example/r'}",
      "apiVersion: source.mooring.dev/v1alpha1\nkind: GitRepository\nmetadata: {name: bad, namespace: team}\nspec: {url: 'ftp://x.example/r'}",
      "apiVersion: delivery.mooring.dev/v1alpha1\nkind: Apllication\nmetadata: {name: typo}",
      "key: [unclosed",
    ].join("\n---\n");
    const results = validateYaml(text);
    assert.deepEqual(
      results.map((r) => [r.index, r.ref, r.checked, r.errors.map((e) => e.field)]),
      [
        [0, "ConfigMap vars", false, []],
        [1, "GitRepository ok", true, []],
        [2, "GitRepository team/bad", true, ["spec.url"]],
        [3, "Apllication typo", true, ["kind"]],
        [4, "document 5", true, [""]],
      ],
    );
    assert.match(results[4]!.errors[0]!.message, /^YAML: /);
  });
});

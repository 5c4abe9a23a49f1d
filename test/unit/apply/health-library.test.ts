// The default health rules shipped in the chart (charts/mooring/files/health-rules.yaml): every rule compiles, and
// every rule has fixtures — real-shaped objects in progress, current and failed — that it judges as expected.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { assessHealth } from "../../../src/apply/health.js";
import { HealthLibraryError, loadHealthLibrary, parseHealthLibrary } from "../../../src/apply/health-library.js";

const root = path.resolve(import.meta.dirname, "../../..");
const LIBRARY = path.join(root, "charts/mooring/files/health-rules.yaml");
const FIXTURES = path.join(root, "test/fixtures/health-rules");

interface Fixture {
  expect: "Healthy" | "Progressing" | "Degraded";
  case: string;
  object: Record<string, any>;
}

const library = loadHealthLibrary(LIBRARY);
const fixtureFile = (apiVersion: string, kind: string) => `${apiVersion.replace("/", "_")}_${kind}.yaml`;

describe("the chart's default health rules", () => {
  it("compile, one rule per apiVersion and kind", () => {
    assert.ok(library.size >= 7, `expected the library to hold the common CRDs, got ${library.size} rules`);
  });

  for (const rule of library.list()) {
    describe(`${rule.apiVersion} ${rule.kind}`, () => {
      const file = path.join(FIXTURES, fixtureFile(rule.apiVersion, rule.kind));
      const fixtures = parse(readFileSync(file, "utf8")) as Fixture[];
      it("has fixtures for in progress, current and failed", () => {
        assert.deepEqual([...new Set(fixtures.map((f) => f.expect))].sort(), ["Degraded", "Healthy", "Progressing"]);
      });
      for (const f of fixtures) {
        it(`${f.case}: ${f.expect}`, () => {
          assert.equal(f.object.apiVersion, rule.apiVersion);
          assert.equal(f.object.kind, rule.kind);
          const h = assessHealth(f.object, library);
          assert.equal(h.status, f.expect, h.message);
          if (f.expect !== "Healthy") {
            // Named once: "default rule [0] (cert-manager.io/v1 Certificate)", its kind not repeated after it.
            const named = `default rule \\[\\d+\\] \\(${rule.apiVersion.replace(".", "\\.")} ${rule.kind}\\)`;
            assert.match(h.message!, new RegExp(named));
            assert.doesNotMatch(h.message!, new RegExp(`${named} \\(`), "the rule's kind is said once");
          }
        });
      }
    });
  }

  it("every fixture file belongs to a rule", () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml"));
    const expected = new Set(library.list().map((r) => fixtureFile(r.apiVersion, r.kind)));
    assert.deepEqual(files.filter((f) => !expected.has(f)), []);
  });

  it("a kind the library has no rule for keeps its built-in check", () => {
    const dep = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 0, availableReplicas: 0 } };
    assert.equal(assessHealth(dep, library).status, "Progressing");
    assert.match(assessHealth(dep, library).message!, /replicas/);
  });
});

describe("loading a library", () => {
  it("an empty file is no rules", () => {
    assert.equal(parseHealthLibrary("", "empty.yaml").size, 0);
    assert.equal(parseHealthLibrary("# nothing\n", "empty.yaml").size, 0);
  });
  it("a rule that does not compile stops the load, naming it", () => {
    const text = "- apiVersion: a/v1\n  kind: A\n  current: 'true'\n- apiVersion: b/v1\n  kind: B\n  current: 'status.('\n";
    assert.throws(() => parseHealthLibrary(text, "rules.yaml"), (e: Error) => e instanceof HealthLibraryError && /rules\.yaml: default rule \[1\] \(b\/v1 B\)\.current: does not compile/.test(e.message));
  });
  it("not a list, not YAML, a duplicate kind, a missing file: each says so", () => {
    assert.throws(() => parseHealthLibrary("rules: []", "r.yaml"), /must be a YAML list of rules/);
    assert.throws(() => parseHealthLibrary("- [", "r.yaml"), /not valid YAML/);
    assert.throws(() => parseHealthLibrary("- {apiVersion: a/v1, kind: A, current: 'true'}\n- {apiVersion: a/v1, kind: A, current: 'false'}", "r.yaml"), /default rule \[1\] \(a\/v1 A\) names the same apiVersion and kind as rule \[0\]/);
    assert.throws(() => parseHealthLibrary("- {apiVersion: a/v1, kind: A}", "r.yaml"), /default rule \[0\] \(a\/v1 A\): has no current/);
    assert.throws(() => loadHealthLibrary(path.join(root, "no-such-rules.yaml")), /cannot read the health rules file .*no-such-rules\.yaml \(--health-rules-file\)/);
  });
});

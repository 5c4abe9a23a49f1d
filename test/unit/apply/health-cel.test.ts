// Custom health rules (src/apply/health-cel.ts): compilation (errors name the rule and the expression), Flux's
// order of evaluation, the object's top-level fields as variables, and the bounds (no matches(), a read budget).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validate } from "../../../src/api/index.js";
import type { HealthCheckExpr } from "../../../src/api/health-rules.js";
import { assessHealth } from "../../../src/apply/health.js";
import { CEL_LIMITS, HealthRuleError, HealthRules, applicationRules, compileRule, evaluateRule, healthRuleProblem } from "../../../src/apply/health-cel.js";

const ready = (status: string, reason = "R") => ({ type: "Ready", status, reason, message: `m-${reason}` });
const widget = (status: Record<string, unknown> | undefined, generation = 1) => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w", namespace: "n", generation },
  spec: { size: 3 },
  ...(status ? { status } : {}),
});
const rule = (r: Partial<HealthCheckExpr>): HealthCheckExpr => ({ apiVersion: "example.com/v1", kind: "Widget", current: "true", ...r });
const rules = (...rs: HealthCheckExpr[]) => applicationRules(rs).rules;

describe("compiling a rule", () => {
  it("a syntax error names the rule, the expression and what is wrong", () => {
    assert.throws(() => compileRule(rule({ failed: "status.conditions.exists(c, " }), "spec.healthCheckExprs[2]"), (e: Error) =>
      e instanceof HealthRuleError && e.rule === "spec.healthCheckExprs[2]" && e.field === "failed" && /^spec\.healthCheckExprs\[2\]\.failed: does not compile: /.test(e.message));
  });
  it("a type error is a compile error", () => {
    assert.throws(() => compileRule(rule({ current: "1 + 'a'" }), "r"), /r\.current: does not compile: .*overload/);
  });
  it("an expression that is not a boolean is refused", () => {
    assert.throws(() => compileRule(rule({ current: "'yes'" }), "r"), /r\.current: must be a boolean expression, but its type is string/);
    assert.throws(() => compileRule(rule({ inProgress: "1 + 2" }), "r"), /r\.inProgress: must be a boolean expression, but its type is int/);
  });
  it("matches() is refused, in either form, with what to use instead", () => {
    assert.throws(() => compileRule(rule({ current: "status.phase.matches('^(a+)+$')" }), "r"), /r\.current: matches\(\) is not allowed .*startsWith/);
    assert.throws(() => compileRule(rule({ failed: "status.ok && matches(status.phase, 'x')" }), "r"), /r\.failed: matches\(\) is not allowed/);
  });
  it("bounded: length, AST size, depth", () => {
    assert.throws(() => compileRule(rule({ current: `${"true && ".repeat(600)}true` }), "r"), /r\.current: the expression is \d+ characters long; at most 4096/);
    // 300 terms of 3 nodes each, under the length bound, over the AST bound.
    const wide = Array.from({ length: 300 }, (_, i) => `x${i}==1`).join("||");
    assert.ok(wide.length <= CEL_LIMITS.maxExprLength);
    assert.throws(() => compileRule(rule({ current: wide }), "r"), /r\.current: does not compile/);
    assert.throws(() => compileRule(rule({ current: `${"(".repeat(60)}true${")".repeat(60)}` }), "r"), /r\.current: does not compile/);
  });
  it("a rule without current or kind", () => {
    assert.throws(() => compileRule({ apiVersion: "a/v1", kind: "A" } as HealthCheckExpr, "r"), /r: has no current/);
    assert.throws(() => compileRule({ apiVersion: "a/v1", current: "true" } as HealthCheckExpr, "r"), /r: has no kind/);
  });
});

describe("evaluating a rule", () => {
  const conditions = rules(rule({
    inProgress: "status.conditions.exists(c, c.type == 'Reconciling' && c.status == 'True')",
    failed: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'False' && c.reason == 'Broken')",
    current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
  }));

  it("inProgress, then failed, then current; none: Progressing; the message names the rule and the Ready reason", () => {
    assert.deepEqual(assessHealth(widget({ conditions: [ready("True")] }), conditions), { status: "Healthy" });
    const failed = assessHealth(widget({ conditions: [ready("False", "Broken")] }), conditions);
    assert.equal(failed.status, "Degraded");
    assert.equal(failed.message, "failed (spec.healthCheckExprs[0] (example.com/v1 Widget)): Broken: m-Broken");
    // inProgress wins over current when both are true.
    const both = assessHealth(widget({ conditions: [ready("True"), { type: "Reconciling", status: "True" }] }), conditions);
    assert.equal(both.status, "Progressing");
    assert.match(both.message!, /^in progress \(spec\.healthCheckExprs\[0\]/);
    const none = assessHealth(widget({ conditions: [ready("False", "Waiting")] }), conditions);
    assert.equal(none.status, "Progressing");
    assert.match(none.message!, /^not current yet .*Waiting: m-Waiting/);
  });

  it("an object whose controller has not observed its generation is Progressing before any expression", () => {
    const h = assessHealth(widget({ observedGeneration: 1, conditions: [ready("True")] }, 2), conditions);
    assert.deepEqual(h, { status: "Progressing", message: "observed generation 1 of 2" });
  });

  it("a field the object does not have yet is Progressing; the optional form reads it without an error", () => {
    const h = assessHealth(widget(undefined), conditions);
    assert.equal(h.status, "Progressing");
    assert.match(h.message!, /inProgress reads a field the object does not have yet \(No such key: conditions\)/);
    // No status at all (its operator has not written one): status is an empty map, so the optional form and has()
    // say "not current yet" instead of failing on the variable.
    for (const current of ["status.?conditions.orValue([]).exists(c, c.type == 'Ready')", "has(status.notAfter)"]) {
      const none = assessHealth(widget(undefined), rules(rule({ current })));
      assert.deepEqual(none, { status: "Progressing", message: "not current yet (spec.healthCheckExprs[0] (example.com/v1 Widget))" }, current);
    }
    const h2 = assessHealth(widget({ phase: "x" }), conditions);
    assert.match(h2.message!, /No such key: conditions/);
    const optional = rules(rule({ current: "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')" }));
    assert.equal(assessHealth(widget({ phase: "x" }), optional).status, "Progressing");
    assert.match(assessHealth(widget({ phase: "x" }), optional).message!, /^not current yet/);
  });

  it("every top-level field is a variable, numbers compare across int and double", () => {
    const r = rules(rule({ current: "kind == 'Widget' && metadata.name == 'w' && status.ready == spec.size && status.ready >= 3 && size(status.list) == 2" }));
    assert.equal(assessHealth(widget({ ready: 3, list: [1, 2] }), r).status, "Healthy");
    assert.equal(assessHealth(widget({ ready: 2, list: [1, 2] }), r).status, "Progressing");
  });

  it("a run-time error other than a missing field is Unknown, naming the rule", () => {
    const r = rules(rule({ current: "status.count + 1 > 2" }));
    const h = assessHealth(widget({ count: "three" }), r);
    assert.equal(h.status, "Unknown");
    assert.match(h.message!, /^health rule spec\.healthCheckExprs\[0\] \(example\.com\/v1 Widget\): current failed: /);
  });

  it("an expression typed dyn that returns no boolean is Unknown", () => {
    const h = assessHealth(widget({ phase: "Running" }), rules(rule({ current: "status.phase" })));
    assert.equal(h.status, "Unknown");
    assert.match(h.message!, /current returned string, not a boolean/);
  });

  it("a nested comprehension over a long list runs out of its read budget and says so", () => {
    const items = Array.from({ length: 2000 }, (_, i) => ({ i }));
    const r = rules(rule({ current: "status.items.all(a, status.items.all(b, a.i >= 0 && b.i >= 0))" }));
    const h = assessHealth(widget({ items }), r);
    assert.equal(h.status, "Unknown");
    assert.match(h.message!, new RegExp(`read more than ${CEL_LIMITS.readBudget} fields \\(evaluation budget\\)`));
    // Absorbed by || (CEL's error semantics), the spent budget still makes the answer Unknown.
    const absorbed = rules(rule({ current: "status.items.all(a, status.items.all(b, b.i >= 0)) || true" }));
    assert.equal(assessHealth(widget({ items }), absorbed).status, "Unknown");
    // The same rule over a short list is fine.
    assert.equal(assessHealth(widget({ items: items.slice(0, 50) }), r).status, "Healthy");
  });

  it("frozen objects (as a cache may hold them) are read, never written", () => {
    const deepFreeze = <T>(o: T): T => {
      if (o && typeof o === "object") for (const v of Object.values(o)) deepFreeze(v);
      return Object.freeze(o);
    };
    const obj = deepFreeze(widget({ conditions: [ready("True")] }));
    assert.equal(evaluateRule(conditions.get("example.com/v1", "Widget")!, obj as Record<string, unknown>).status, "Healthy");
  });
});

describe("which rule applies", () => {
  const defaults = applicationRules([rule({ current: "false" }), { apiVersion: "cert-manager.io/v1", kind: "Certificate", current: "true" }]).rules;

  it("an Application's rule wins over the default for the same apiVersion and kind; others keep the default", () => {
    const merged = defaults.overlay(rules(rule({ current: "true" })));
    assert.equal(assessHealth(widget({}), defaults).status, "Progressing");
    assert.equal(assessHealth(widget({}), merged).status, "Healthy");
    assert.equal(merged.get("cert-manager.io/v1", "Certificate")?.exprs.current !== undefined, true);
  });

  it("apiVersion is matched exactly", () => {
    assert.equal(defaults.get("example.com/v2", "Widget"), undefined);
    assert.equal(assessHealth({ ...widget({}), apiVersion: "example.com/v2" }, defaults).status, "Healthy");
  });

  it("a rule replaces a built-in check (a Deployment judged by its own rule)", () => {
    const dep = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 1 } };
    assert.equal(assessHealth(dep).status, "Progressing");
    assert.equal(assessHealth(dep, rules({ apiVersion: "apps/v1", kind: "Deployment", current: "status.readyReplicas >= 1" })).status, "Healthy");
  });

  it("deleted and missing objects are judged before any rule", () => {
    const r = rules(rule({ current: "true" }));
    assert.equal(assessHealth(undefined, r).status, "Missing");
    assert.equal(assessHealth({ ...widget({}), metadata: { name: "w", deletionTimestamp: "2026-01-01T00:00:00Z" } }, r).status, "Progressing");
  });

  it("HealthRules.EMPTY changes nothing", () => {
    assert.equal(HealthRules.EMPTY.overlay(defaults), defaults);
    assert.equal(defaults.overlay(HealthRules.EMPTY), defaults);
  });
});

describe("an Application's rules that do not compile", () => {
  const app = (exprs: HealthCheckExpr[]) => ({ spec: { healthCheckExprs: exprs } });

  it("every broken rule is named, with what to fix; the rules that compile are still used", () => {
    const spec = [rule({ current: "true" }), { apiVersion: "b/v1", kind: "B", current: "status.(" }, { apiVersion: "c/v1", kind: "C", current: "x", failed: "s.matches('a')" }];
    const problem = healthRuleProblem(app(spec));
    assert.match(problem!, /^health rules cannot be used: spec\.healthCheckExprs\[1\]\.current: does not compile: .*; spec\.healthCheckExprs\[2\]\.failed: matches\(\) is not allowed.*; fix spec\.healthCheckExprs$/);
    assert.equal(applicationRules(spec).rules.size, 1);
  });

  it("no rules, or rules that compile: no problem", () => {
    assert.equal(healthRuleProblem({ spec: {} }), undefined);
    assert.equal(healthRuleProblem(app([rule({})])), undefined);
  });

  it("compiled once per distinct text (cached)", () => {
    const spec = [rule({ current: "status.x == 1" })];
    assert.equal(applicationRules(spec), applicationRules(JSON.parse(JSON.stringify(spec))));
  });
});

describe("the API", () => {
  const application = (healthCheckExprs: unknown) => ({
    apiVersion: "delivery.mooring.dev/v1alpha1",
    kind: "Application",
    metadata: { name: "a", namespace: "n" },
    spec: { sourceRef: { kind: "GitRepository", name: "g" }, healthCheckExprs },
  });
  it("accepts Flux-shaped rules", () => {
    const r = validate(application([{ apiVersion: "cert-manager.io/v1", kind: "Certificate", current: "true", inProgress: "false", failed: "false" }]));
    assert.deepEqual(r.errors ?? [], []);
  });
  it("refuses the same apiVersion and kind twice, a rule without current, and unknown fields", () => {
    const twice = validate(application([{ apiVersion: "a/v1", kind: "A", current: "true" }, { apiVersion: "a/v1", kind: "A", current: "false" }]));
    assert.ok(twice.errors?.some((e) => /healthCheckExprs must name each apiVersion and kind once/.test(e.message)), JSON.stringify(twice.errors));
    assert.equal(validate(application([{ apiVersion: "a/v1", kind: "A" }])).valid, false);
    assert.equal(validate(application([{ apiVersion: "a/v1", kind: "A", current: "true", healthy: "x" }])).valid, false);
    assert.equal(validate(application([{ apiVersion: "a/v1", kind: "A", current: "x".repeat(4097) }])).valid, false);
  });
});

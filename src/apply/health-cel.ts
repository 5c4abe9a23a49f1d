// Custom health rules: CEL expressions per apiVersion/kind (Flux's healthCheckExprs: inProgress, failed, current),
// compiled and evaluated with @marcbachmann/cel-js. Rules come from Application.spec.healthCheckExprs and from the
// operator's default library (--health-rules-file, shipped in the chart); an Application's rule wins over a
// default rule, and either wins over the built-in check of its kind (./health.ts).
//
// Bounded, since the expressions are written by tenants and run in the controller's process:
//   - at compile time: expression length, AST size and depth (the library's parse limits), and no matches()
//     (JavaScript regular expressions backtrack: one pattern could stall the controller; CEL specifies RE2);
//   - at run time: a budget of field reads per evaluation (a nested comprehension over a long list runs out of
//     it and reports an error instead of spinning); the work between two reads is bounded by the AST size.
import { Environment, type ParseResult } from "@marcbachmann/cel-js";
import type { HealthCheckExpr } from "../api/health-rules.js";
import { HEALTH_EXPR_MAX_LENGTH } from "../api/health-rules.js";
import type { Health } from "./health.js";

export const CEL_LIMITS = {
  /** Characters per expression (the CRD's maxLength). */
  maxExprLength: HEALTH_EXPR_MAX_LENGTH,
  /** AST nodes per expression. */
  maxAstNodes: 1000,
  /** Nesting depth of an expression. */
  maxDepth: 48,
  /** Field reads per evaluation (a condition check reads ~20). */
  readBudget: 100_000,
} as const;

const EXPRS = ["inProgress", "failed", "current"] as const;
type ExprName = (typeof EXPRS)[number];

/** A rule that does not compile: which rule (spec.healthCheckExprs[1].current, or the default library's), and why. */
export class HealthRuleError extends Error {
  constructor(
    /** Where the rule is: "spec.healthCheckExprs[1]" or "default rule cert-manager.io/v1 Certificate". */
    readonly rule: string,
    readonly field: ExprName | "rule",
    readonly reason: string,
  ) {
    super(`${rule}${field === "rule" ? "" : `.${field}`}: ${reason}`);
  }
}

/** A compiled rule. */
export interface CompiledRule {
  apiVersion: string;
  kind: string;
  /** Where it came from, for messages: "spec.healthCheckExprs[0]" or "default rule". */
  origin: string;
  exprs: Partial<Record<ExprName, ParseResult>>;
}

const env = new Environment({
  enableOptionalTypes: true,
  // The object's top-level fields are the variables; custom resources have fields of their own beside spec/status.
  unlistedVariablesAreDyn: true,
  limits: { maxAstNodes: CEL_LIMITS.maxAstNodes, maxDepth: CEL_LIMITS.maxDepth },
});

/** The first call of a function health rules may not use, or undefined. */
function forbiddenCall(node: unknown): string | undefined {
  if (!node || typeof node !== "object") return undefined;
  if (Array.isArray(node)) {
    for (const n of node) {
      const f = forbiddenCall(n);
      if (f) return f;
    }
    return undefined;
  }
  const n = node as { op?: unknown; args?: unknown };
  if ((n.op === "call" || n.op === "rcall") && Array.isArray(n.args) && n.args[0] === "matches") return "matches";
  return forbiddenCall(n.args);
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

/** Parses and checks one expression; throws HealthRuleError. */
function compileExpr(origin: string, field: ExprName, text: string): ParseResult {
  if (text.length > CEL_LIMITS.maxExprLength) throw new HealthRuleError(origin, field, `the expression is ${text.length} characters long; at most ${CEL_LIMITS.maxExprLength} are allowed`);
  let parsed: ParseResult;
  try {
    parsed = env.parse(text);
  } catch (err) {
    throw new HealthRuleError(origin, field, `does not compile: ${firstLine((err as Error).message)}`);
  }
  if (forbiddenCall(parsed.ast)) {
    throw new HealthRuleError(origin, field, "matches() is not allowed in health rules (its regular expressions could backtrack without bound); use startsWith(), endsWith() or contains()");
  }
  const checked = parsed.check();
  if (!checked.valid) throw new HealthRuleError(origin, field, `does not compile: ${firstLine(checked.error?.message ?? "type error")}`);
  if (checked.type !== "bool" && checked.type !== "dyn") throw new HealthRuleError(origin, field, `must be a boolean expression, but its type is ${checked.type}`);
  return parsed;
}

/** Compiles one rule; throws HealthRuleError naming the rule and the expression. */
export function compileRule(rule: HealthCheckExpr, origin: string): CompiledRule {
  if (!rule || typeof rule !== "object") throw new HealthRuleError(origin, "rule", "is not an object with apiVersion, kind and current");
  for (const f of ["apiVersion", "kind", "current"] as const) {
    if (typeof rule[f] !== "string" || !rule[f]) throw new HealthRuleError(origin, "rule", `has no ${f}`);
  }
  const exprs: CompiledRule["exprs"] = {};
  for (const name of EXPRS) {
    const text = rule[name];
    if (text === undefined) continue;
    if (typeof text !== "string") throw new HealthRuleError(origin, name, "must be a string");
    exprs[name] = compileExpr(origin, name, text);
  }
  return { apiVersion: rule.apiVersion, kind: rule.kind, origin, exprs };
}

const keyOf = (apiVersion: string, kind: string) => `${apiVersion}\n${kind}`;

/** Rules by apiVersion and kind. */
export class HealthRules {
  static readonly EMPTY = new HealthRules([]);
  private readonly byKind = new Map<string, CompiledRule>();

  constructor(rules: readonly CompiledRule[]) {
    for (const r of rules) this.byKind.set(keyOf(r.apiVersion, r.kind), r);
  }

  get size(): number {
    return this.byKind.size;
  }

  get(apiVersion: string | undefined, kind: string | undefined): CompiledRule | undefined {
    if (!apiVersion || !kind || this.byKind.size === 0) return undefined;
    return this.byKind.get(keyOf(apiVersion, kind));
  }

  /** These rules with `over`'s winning for the kinds both name. */
  overlay(over: HealthRules): HealthRules {
    if (over.size === 0) return this;
    if (this.size === 0) return over;
    return new HealthRules([...this.byKind.values(), ...over.byKind.values()]);
  }

  list(): CompiledRule[] {
    return [...this.byKind.values()];
  }
}

/**
 * Compiles a list of rules (an Application's, or the default library): every rule that compiles, and an error for
 * each that does not. `originOf(i)` names rule i in messages.
 */
export function compileRules(rules: readonly HealthCheckExpr[], originOf: (i: number, rule: HealthCheckExpr) => string): { rules: HealthRules; errors: HealthRuleError[] } {
  const ok: CompiledRule[] = [];
  const errors: HealthRuleError[] = [];
  rules.forEach((r, i) => {
    try {
      ok.push(compileRule(r, originOf(i, r)));
    } catch (err) {
      if (!(err instanceof HealthRuleError)) throw err;
      errors.push(err);
    }
  });
  return { rules: new HealthRules(ok), errors };
}

/** The names spec.healthCheckExprs[i] has in messages. */
export const appRuleOrigin = (i: number) => `spec.healthCheckExprs[${i}]`;

/**
 * An Application's compiled rules, cached by their text (a reconcile asks for them on every health read; the
 * spec changes rarely). Bounded: the least recently used entries go first.
 */
const APP_CACHE_MAX = 512;
const appCache = new Map<string, { rules: HealthRules; errors: HealthRuleError[] }>();

export function applicationRules(exprs: readonly HealthCheckExpr[] | undefined): { rules: HealthRules; errors: HealthRuleError[] } {
  if (!exprs?.length) return { rules: HealthRules.EMPTY, errors: [] };
  const key = JSON.stringify(exprs);
  const hit = appCache.get(key);
  if (hit) {
    appCache.delete(key);
    appCache.set(key, hit);
    return hit;
  }
  const compiled = compileRules(exprs, appRuleOrigin);
  appCache.set(key, compiled);
  if (appCache.size > APP_CACHE_MAX) appCache.delete(appCache.keys().next().value!);
  return compiled;
}

/** The read budget ran out. */
class BudgetExceeded extends Error {}

/**
 * A read-only view of `root` that counts field reads, and throws once `budget` is spent. Each proxy wraps an empty
 * object or array (not the real one), so frozen input breaks none of the Proxy invariants.
 */
function metered(root: Record<string, unknown>, budget: number): { view: Record<string, unknown>; exhausted: () => boolean } {
  let left = budget;
  const views = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    const seen = views.get(v);
    if (seen) return seen;
    const real = v as Record<string | symbol, unknown>;
    const p = new Proxy(Array.isArray(v) ? [] : {}, {
      get(_t, k) {
        if (--left < 0) throw new BudgetExceeded(`the rule read more than ${budget} fields (evaluation budget)`);
        return wrap(Reflect.get(real, k));
      },
      has: (_t, k) => Reflect.has(real, k),
      ownKeys: () => Reflect.ownKeys(real),
      getOwnPropertyDescriptor(_t, k) {
        const d = Reflect.getOwnPropertyDescriptor(real, k);
        if (!d) return d;
        if (Array.isArray(real) && k === "length") return { ...d, value: real.length, configurable: false };
        return { ...d, value: wrap(d.value), configurable: true };
      },
      set: () => false,
      deleteProperty: () => false,
      defineProperty: () => false,
    });
    views.set(v, p);
    return p;
  };
  return { view: wrap(root) as Record<string, unknown>, exhausted: () => left < 0 };
}

/** Why an evaluation failed; `missing`: it read a field the object does not have (yet). */
function evaluationFailure(err: unknown): { missing: boolean; message: string } {
  const message = firstLine(err instanceof Error ? err.message : String(err));
  return { missing: /^(No such key|Unknown variable)\b/.test(message), message };
}

function readyReason(obj: { status?: { conditions?: unknown } }): string {
  const list = obj.status?.conditions;
  if (!Array.isArray(list)) return "";
  const ready = (list as { type?: string; reason?: string; message?: string }[]).find((c) => c?.type === "Ready");
  const text = ready ? [ready.reason, ready.message].filter(Boolean).join(": ") : "";
  return text ? `: ${text}` : "";
}

/**
 * The health of `obj` by `rule`: inProgress (Progressing), then failed (Degraded), then current (Healthy), the
 * first true wins; none true: Progressing. An expression that reads a field the object does not have yet counts
 * as Progressing (the operator has not written it); any other error, or the budget spent, is Unknown, naming the
 * rule. The caller has already checked deletion and observedGeneration.
 */
export function evaluateRule(rule: CompiledRule, obj: Record<string, unknown>, budget: number = CEL_LIMITS.readBudget): Health {
  // A default rule's origin names its kind already ("default rule [0] (cert-manager.io/v1 Certificate)").
  const kindOf = `(${rule.apiVersion} ${rule.kind})`;
  const what = rule.origin.endsWith(kindOf) ? rule.origin : `${rule.origin} ${kindOf}`;
  const m = metered(obj, budget);
  // The object's top-level fields are the variables (apiVersion, kind, metadata, spec, status, ...). metadata, spec
  // and status are always defined, empty when the object has none: a new object has no status until its operator
  // writes one, and `status.?x.orValue(d)` or `has(status.x)` must then read as "not yet", not fail on the variable.
  const vars: Record<string, unknown> = { metadata: {}, spec: {}, status: {} };
  for (const k of Object.keys(obj)) vars[k] = m.view[k];
  for (const name of EXPRS) {
    const expr = rule.exprs[name];
    if (!expr) continue;
    let result: unknown;
    try {
      result = expr(vars);
    } catch (err) {
      if (err instanceof BudgetExceeded || m.exhausted()) return { status: "Unknown", message: `health rule ${what}: ${name}: the rule read more than ${budget} fields (evaluation budget); simplify it` };
      const f = evaluationFailure(err);
      if (f.missing) return { status: "Progressing", message: `health rule ${what}: ${name} reads a field the object does not have yet (${f.message})` };
      return { status: "Unknown", message: `health rule ${what}: ${name} failed: ${f.message}` };
    }
    // A spent budget inside `||` or `&&` may be absorbed by CEL's error semantics: the answer is still unsound.
    if (m.exhausted()) return { status: "Unknown", message: `health rule ${what}: ${name}: the rule read more than ${budget} fields (evaluation budget); simplify it` };
    if (typeof result !== "boolean") return { status: "Unknown", message: `health rule ${what}: ${name} returned ${typeof result === "bigint" ? "an int" : typeof result}, not a boolean` };
    if (!result) continue;
    if (name === "current") return { status: "Healthy" };
    if (name === "failed") return { status: "Degraded", message: `failed (${what})${readyReason(obj)}` };
    return { status: "Progressing", message: `in progress (${what})${readyReason(obj)}` };
  }
  return { status: "Progressing", message: `not current yet (${what})${readyReason(obj)}` };
}

/** Why the Application's spec.healthCheckExprs cannot be used (every rule that does not compile), or undefined. */
export function healthRuleProblem(app: { spec: { healthCheckExprs?: HealthCheckExpr[] } }): string | undefined {
  const { errors } = applicationRules(app.spec.healthCheckExprs);
  if (!errors.length) return undefined;
  return `health rule${errors.length === 1 ? "" : "s"} cannot be used: ${errors.map((e) => e.message).join("; ")}; fix spec.healthCheckExprs`;
}

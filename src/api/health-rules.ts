// Custom health rules: CEL expressions per kind, in the shape of Flux's Kustomization.spec.healthCheckExprs
// (apiVersion, kind, current, inProgress, failed). Used by Application.spec.healthCheckExprs and by the operator's
// default rule library (--health-rules-file, shipped in the Helm chart). The expressions are compiled and evaluated
// by the apply controller (src/apply/health-cel.ts); the API server only bounds their size.
import { type Static } from "@sinclair/typebox";
import { List, Obj, Optional, Str, cel } from "./schema.js";

/** Longest expression accepted (characters): rules are small predicates over one object. */
export const HEALTH_EXPR_MAX_LENGTH = 4096;
/** Most rules per Application. */
export const HEALTH_RULES_MAX = 64;

const Expr = (what: string) =>
  Str(
    `CEL expression, evaluated against the object (its top-level fields are variables: apiVersion, kind, metadata, spec, status, ...), that is true when the object ${what}.`,
    HEALTH_EXPR_MAX_LENGTH,
    { minLength: 1 },
  );

export const HealthCheckExpr = Obj(
  {
    apiVersion: Str("API version of the objects the rule applies to, such as cert-manager.io/v1 (matched exactly).", 253, { minLength: 1 }),
    kind: Str("Kind of the objects the rule applies to, such as Certificate.", 63, { minLength: 1 }),
    current: Expr("is healthy (Healthy)"),
    inProgress: Optional(Expr("is still being reconciled (Progressing); evaluated first")),
    failed: Optional(Expr("has failed (Degraded); evaluated after inProgress")),
  },
  "Health of every object of one kind, decided by CEL expressions: inProgress, then failed, then current; when none is true the object is Progressing. Replaces the built-in check of that kind (and the operator's default rule for it).",
);
export type HealthCheckExpr = Static<typeof HealthCheckExpr>;

/** Application.spec.healthCheckExprs: one rule per apiVersion and kind. */
export const HealthCheckExprs = List(HealthCheckExpr, "Health rules (CEL) for kinds the applied objects and spec.healthChecks include; they win over the operator's default rules and the built-in checks for the same apiVersion and kind.", HEALTH_RULES_MAX, {
  "x-kubernetes-validations": [
    cel(
      "self.all(a, self.exists_one(b, b.apiVersion == a.apiVersion && b.kind == a.kind))",
      "healthCheckExprs must name each apiVersion and kind once",
      (self: { apiVersion: string; kind: string }[]) => new Set(self.map((r) => `${r.apiVersion}\n${r.kind}`)).size === self.length,
    ),
  ],
});

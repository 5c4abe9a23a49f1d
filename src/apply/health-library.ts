// The operator's default health rules (--health-rules-file): a YAML list of rules in the shape of
// Application.spec.healthCheckExprs, read once at start-up. The Helm chart ships a library for common CRDs
// (charts/mooring/files/health-rules.yaml, a ConfigMap mounted into the apply controller). A rule that does not
// compile stops the start-up with a message naming it: a default the operator cannot apply must not be silently
// replaced by the built-in check.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { HealthCheckExpr } from "../api/health-rules.js";
import { type HealthRules, compileRules } from "./health-cel.js";

/** The default library file could not be used; the message names the file and the rule. */
export class HealthLibraryError extends Error {}

/** Names default rule i in messages: "default rule [2] (cert-manager.io/v1 Certificate)". */
export const defaultRuleOrigin = (i: number, r: Partial<HealthCheckExpr> | undefined) =>
  `default rule [${i}]${r && typeof r === "object" && r.apiVersion && r.kind ? ` (${r.apiVersion} ${r.kind})` : ""}`;

/** Parses and compiles a library's text; `source` names it in errors. */
export function parseHealthLibrary(text: string, source: string): HealthRules {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new HealthLibraryError(`health rules ${source} are not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) doc = [];
  if (!Array.isArray(doc)) throw new HealthLibraryError(`health rules ${source} must be a YAML list of rules (apiVersion, kind, current, inProgress, failed)`);
  const seen = new Map<string, number>();
  doc.forEach((r: Partial<HealthCheckExpr>, i) => {
    const key = `${r?.apiVersion}/${r?.kind}`;
    const first = seen.get(key);
    if (first !== undefined) throw new HealthLibraryError(`health rules ${source}: ${defaultRuleOrigin(i, r)} names the same apiVersion and kind as rule [${first}]; keep one`);
    seen.set(key, i);
  });
  const { rules, errors } = compileRules(doc as HealthCheckExpr[], defaultRuleOrigin);
  if (errors.length) throw new HealthLibraryError(`health rules ${source}: ${errors.map((e) => e.message).join("; ")}`);
  return rules;
}

/** Reads and compiles the library at `file`. */
export function loadHealthLibrary(file: string): HealthRules {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new HealthLibraryError(`cannot read the health rules file ${file} (--health-rules-file): ${(err as Error).message}`);
  }
  return parseHealthLibrary(text, file);
}

// Helm's error messages, mapped to RenderErrors that say where: the template file (relative to the artifact) and
// line, the value a `required` call asked for, the values field a schema refused. Helm names files as
// "<chart name>/templates/x.yaml" (a subchart: "<parent>/charts/<sub>/templates/x.yaml"); `toArtifactPath` turns
// that into the path in the repository.
import { RenderError } from "../errors.js";
import { joinRel } from "./stage.js";

export interface ErrorContext {
  /** Root-relative chart directory (spec.path). */
  dir: string;
  /** The chart's name (Chart.yaml), the first component of helm's paths. */
  chartName: string;
  /** Template source by helm path, to quote the action at an error's line and column. */
  source?: (helmPath: string) => string | undefined;
}

/** "<chart>/templates/x.yaml" → "<dir>/templates/x.yaml"; paths of other charts are left as they are. */
export function toArtifactPath(helmPath: string, ctx: ErrorContext): string {
  const prefix = `${ctx.chartName}/`;
  return helmPath.startsWith(prefix) ? joinRel(ctx.dir, helmPath.slice(prefix.length)) : helmPath;
}

/** Replaces every helm path in a message by its artifact path. */
function rewritePaths(msg: string, ctx: ErrorContext): string {
  const re = new RegExp(`(^|[\\s("'<])${escapeRegExp(ctx.chartName)}/((?:charts|templates|crds)/[^\\s:"'()>]+)`, "g");
  return msg.replace(re, (_m, pre: string, rest: string) => `${pre}${joinRel(ctx.dir, rest)}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The `{{ … }}` action around line:col of a template, for messages ("at `required "…" .Values.host`"). */
export function actionAt(text: string, line: number, col: number): string | undefined {
  const lines = text.split("\n");
  const l = lines[line - 1];
  if (l === undefined) return undefined;
  // Go reports the column of the action's first token; the action opens with `{{` before it on this line.
  const open = l.lastIndexOf("{{", Math.max(0, col));
  if (open < 0) return undefined;
  const rest = lines.slice(line - 1).join("\n").slice(open);
  const close = rest.indexOf("}}");
  if (close < 0) return undefined;
  return rest
    .slice(2, close)
    .replace(/^-\s*/, "")
    .replace(/\s*-$/, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The value a `required "msg" <value>` action asks for (".Values.host"), if the action is one. */
export function requiredValue(action: string): string | undefined {
  const m = action.match(/\brequired\s+(?:"(?:[^"\\]|\\.)*"|`[^`]*`|\$?[\w.]+)\s+(\(?[$.][\w.$]*)/);
  return m?.[1]?.replace(/^\(/, "");
}

/** helm's stderr (exit status 1) → a RenderError. */
export function helmError(stderr: string, ctx: ErrorContext): RenderError {
  let msg = stderr
    .replace(/\r/g, "")
    .replace(/\n+Use --debug flag to render out invalid YAML\s*$/, "")
    .replace(/^(?:.*\n)*?Error: /, "")
    .trim();
  if (!msg) msg = stderr.trim() || "helm template failed without a message";
  const chartFile = joinRel(ctx.dir, "Chart.yaml");
  if (/^values don't meet the specifications of the schema/.test(msg)) return schemaError(msg, ctx);
  // The innermost template location: "template: <path>:<line>:<col>: executing …", "execution error at (<path>:<line>:<col>): …",
  // "parse error at (<path>:<line>): …".
  const locs = [...msg.matchAll(/(?:template: |error at \()([^\s():]+\/(?:templates|charts)\/[^\s():]+):(\d+)(?::(\d+))?/g)];
  const loc = locs.at(-1);
  if (loc) return templateError(msg, loc, ctx);
  const yamlErr = msg.match(/^YAML parse error on ([^:\s]+):\s*(?:error converting YAML to JSON:\s*)?([\s\S]*)$/);
  if (yamlErr) return outputYamlError(yamlErr[1]!, yamlErr[2]!, ctx);
  if (/found in Chart\.yaml, but missing in charts\/ directory/.test(msg)) {
    return new RenderError(`${msg}; Mooring renders offline, so vendor the dependencies into charts/ (helm dependency build) and commit them, or render the chart through a HelmChart with sourceRef GitRepository, which downloads them from HelmRepositories`, { file: chartFile });
  }
  if (/^(?:validation: chart\.metadata|chart requires kubeVersion|library charts are not installable|apiVersion .* is not valid|Chart\.yaml file is missing)/.test(msg)) {
    return new RenderError(rewritePaths(msg, ctx), { file: chartFile });
  }
  return new RenderError(`helm template failed: ${rewritePaths(msg, ctx)}`, { file: ctx.dir || "." });
}

/** Schema violations: "values don't meet the specifications of the schema(s) in the following chart(s):\n<chart>:\n- at '/a/b': msg". */
function schemaError(msg: string, ctx: ErrorContext): RenderError {
  const problems: string[] = [];
  let chart = ctx.chartName;
  const charts = new Set<string>();
  for (const line of msg.split("\n").slice(1)) {
    const head = line.match(/^([^\s-][^:]*):\s*$/);
    if (head) {
      chart = head[1]!;
      continue;
    }
    const at = line.match(/^\s*-\s*at '([^']*)':\s*(.*)$/);
    if (at) {
      charts.add(chart);
      problems.push(`${chart === ctx.chartName ? "" : `${chart}: `}${valuesField(at[1]!)}: ${at[2]}`);
    } else if (line.trim() && !/^\s*$/.test(line)) {
      problems.push(line.trim().replace(/^-\s*/, ""));
    }
  }
  const only = charts.size === 1 ? [...charts][0]! : ctx.chartName;
  const file = only === ctx.chartName ? joinRel(ctx.dir, "values.schema.json") : joinRel(ctx.dir, `charts/${only}/values.schema.json`);
  return new RenderError(`values do not match the chart's schema: ${problems.join("; ")}`, { file });
}

/** A JSON pointer into the values ("/a/0/b.c") as the values field it names (`values.a[0]["b.c"]`). */
function valuesField(pointer: string): string {
  const field = pointer.split("/").filter(Boolean).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  return `values${field.map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_][\w-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join("")}`;
}

/** An error at a template location `loc` (helm path, line, column): an execution, parse or executing error. */
function templateError(msg: string, loc: RegExpMatchArray, ctx: ErrorContext): RenderError {
  const helmPath = loc[1]!;
  const file = toArtifactPath(helmPath, ctx);
  const line = Number(loc[2]);
  const col = loc[3] ? Number(loc[3]) : undefined;
  const where = { file, line, template: file };
  const exec = msg.match(/^execution error at \([^)]*\):\s*([\s\S]*)$/);
  if (exec) {
    // `required` and `fail` both end here; the template's action says which.
    const text = ctx.source?.(helmPath);
    const action = text && col ? actionAt(text, line, col) : undefined;
    const value = action ? requiredValue(action) : undefined;
    const detail = rewritePaths(exec[1]!.trim(), ctx);
    if (value) return new RenderError(`required value ${value} is missing: ${detail}`, where);
    if (action && /^fail\b|\|\s*fail\b/.test(action)) return new RenderError(`the chart failed the render: ${detail}`, where);
    return new RenderError(detail, where);
  }
  const parse = msg.match(/^parse error at \([^)]*\):\s*([\s\S]*)$/);
  if (parse) return new RenderError(`template syntax error: ${rewritePaths(parse[1]!.trim(), ctx)}`, where);
  const executing = msg.slice(loc.index).match(/executing "[^"]*" at <(.*?)>:\s*([\s\S]*)$/);
  if (executing) return new RenderError(`template failed at <${executing[1]}>: ${rewritePaths(executing[2]!.trim(), ctx)}`, where);
  return new RenderError(`template failed: ${rewritePaths(msg, ctx)}`, where);
}

/** "YAML parse error on <helm path>: …": a template whose output is not YAML, or not an object. */
function outputYamlError(helmPath: string, detail: string, ctx: ErrorContext): RenderError {
  const file = toArtifactPath(helmPath, ctx);
  const notObject = detail.match(/cannot unmarshal (\w+) into Go value of type releaseutil\.SimpleHead/);
  if (notObject) {
    const what = notObject[1] === "array" ? "a list" : `a ${notObject[1]}`;
    return new RenderError(`the template rendered a document that is ${what}, not a Kubernetes object`, { file, template: file });
  }
  return new RenderError(`the template's output is not valid YAML: ${detail.trim().replace(/^yaml: line (\d+):/, "line $1 of the rendered output:")}`, { file, template: file });
}

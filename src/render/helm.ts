// The helm renderer. A chart is either a real Helm v3 chart (Go templates: rendered by the pinned `helm template`,
// src/render/helm/go.ts) or one of Mooring's own Handlebars charts, laid out like Helm's (Chart.yaml, values.yaml,
// values.schema.json, templates/, charts/) and rendered here; src/render/helm/detect.ts says which. Handlebars
// templates are compiled in strict mode (a missing value is an error naming the template and line), without HTML
// escaping (YAML is not HTML), with prototype access off.
import { createHash } from "node:crypto";
import Ajv from "ajv";
import Ajv2019 from "ajv/dist/2019.js";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import Handlebars from "handlebars";
import { RenderError } from "./errors.js";
import type { ArtifactRoot } from "./fs.js";
import { detectEngine, type HelmEngineChoice } from "./helm/detect.js";
import { renderGoChart, type GoChartOptions } from "./helm/go.js";
import { ChartFiles } from "./helm/stage.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { isMap, type JsonMap, type KubeObject } from "./objects.js";
import { objectsFromText } from "./plain.js";
import { parseYamlDocs, toYamlText } from "./yaml.js";

/** A chart render's options: a Go chart's (release, values and kubeVersion serve Handlebars charts too), and the engine. */
export interface HelmOptions extends GoChartOptions {
  /** Template engine: auto (default; the rule in src/render/helm/detect.ts), go or handlebars. */
  engine?: HelmEngineChoice;
}

export function isChart(root: ArtifactRoot, dir: string): boolean {
  return root.isFile(join(dir, "Chart.yaml"));
}

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Deep merge: maps merge, everything else (lists included) is replaced; `null` removes a key, as in Helm. */
export function mergeValues(base: JsonMap, over: JsonMap): JsonMap {
  const out: JsonMap = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === "__proto__" || k === "constructor" || k === "prototype") continue;
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k], v);
    else out[k] = v;
  }
  return out;
}

/**
 * Parses values text from outside the artifact (a ConfigMap or Secret key named by `valuesFrom`) with the same limits
 * as files; `source` names it in errors, e.g. "ConfigMap apps/shop-values key values.yaml".
 */
export function parseValues(text: string, source: string, limits: Pick<ArtifactRoot["limits"], "maxAliasCount" | "maxDepth"> = DEFAULT_LIMITS): JsonMap {
  const docs = parseYamlDocs(text, source, limits);
  if (docs.length === 0) return {};
  if (docs.length > 1 || !isMap(docs[0]!.value)) throw new RenderError("values must be one YAML map", { file: source });
  return docs[0]!.value;
}

function readYamlMap(root: ArtifactRoot, file: string, optional: boolean): JsonMap {
  if (optional && !root.isFile(file)) return {};
  const docs = parseYamlDocs(root.readText(file), file, root.limits);
  if (docs.length === 0) return {};
  const v = docs[0]!.value;
  if (!isMap(v)) throw new RenderError("must be a YAML map", { file });
  return v;
}

interface ChartMeta {
  name: string;
  version: string;
  appVersion?: string;
  description?: string;
  /** Chart.yaml `dependencies`: only `name` and `condition` matter here (subcharts are vendored under charts/). */
  dependencies?: { name: string; condition?: string }[];
}

function readChart(root: ArtifactRoot, dir: string): ChartMeta {
  const file = join(dir, "Chart.yaml");
  const c = readYamlMap(root, file, false);
  if (typeof c.name !== "string" || !c.name) throw new RenderError("Chart.yaml needs a name", { file });
  if (c.version === undefined) throw new RenderError("Chart.yaml needs a version", { file });
  return {
    name: c.name,
    version: String(c.version),
    appVersion: c.appVersion === undefined ? undefined : String(c.appVersion),
    description: typeof c.description === "string" ? c.description : undefined,
    dependencies: Array.isArray(c.dependencies)
      ? c.dependencies.filter(isMap).map((d) => ({ name: String(d.name), condition: typeof d.condition === "string" ? d.condition : undefined }))
      : undefined,
  };
}

export function renderHelm(root: ArtifactRoot, dir: string, opts: HelmOptions = {}): KubeObject[] {
  const files = new ChartFiles(root);
  if (detectEngine(files, dir, opts.engine).engine === "go") return renderGoChart(files, dir, opts);
  return renderHandlebars(root, dir, opts);
}

function renderHandlebars(root: ArtifactRoot, dir: string, opts: HelmOptions): KubeObject[] {
  const chart = readChart(root, dir);
  let values = readYamlMap(root, join(dir, "values.yaml"), true);
  // valuesFiles are relative to the chart directory (spec.path), and may not leave the artifact.
  for (const f of opts.valuesFiles ?? []) values = mergeValues(values, readYamlMap(root, root.resolve(f, dir, "valuesFiles entry", undefined, "file"), false));
  for (const v of opts.valuesFrom ?? []) values = mergeValues(values, v);
  if (opts.values) values = mergeValues(values, opts.values);
  const release = { name: opts.releaseName ?? chart.name, namespace: opts.namespace ?? "default", service: "Mooring" };
  return renderChart(root, dir, chart, values, release, opts.kubeVersion ?? "v1.32.0", 0);
}

function renderChart(
  root: ArtifactRoot,
  dir: string,
  chart: ChartMeta,
  values: JsonMap,
  release: JsonMap,
  kubeVersion: string,
  depth: number,
): KubeObject[] {
  if (depth > 10) throw new RenderError("subcharts nest more than 10 levels deep", { file: dir });
  validateSchema(root, dir, values);
  const hb = newHandlebars();
  const templates = loadTemplates(root, dir, hb);
  const [major, minor] = kubeVersion.replace(/^v/, "").split(".");
  const context = {
    values,
    release,
    chart,
    capabilities: { kubeVersion: { version: kubeVersion, major: major ?? "1", minor: minor ?? "0" } },
  };
  const out: KubeObject[] = [];
  for (const t of templates) out.push(...renderTemplate(root, hb, t, context));
  const cdir = join(dir, "charts");
  if (root.isDir(cdir)) {
    for (const e of root.list(cdir)) {
      if (!e.dir || !root.isFile(join(e.path, "Chart.yaml"))) continue;
      const sub = readChart(root, e.path);
      const own = readYamlMap(root, join(e.path, "values.yaml"), true);
      const fromParent = isMap(values[sub.name]) ? (values[sub.name] as JsonMap) : {};
      if (!subchartEnabled(chart, sub.name, values, fromParent)) continue;
      let subValues = mergeValues(own, fromParent);
      if (isMap(values.global)) subValues = mergeValues(subValues, { global: values.global });
      out.push(...renderChart(root, e.path, sub, subValues, release, kubeVersion, depth + 1));
    }
  }
  return out;
}

/** The chart's templates/: partials (`_name.hbs`, `_name.tpl`) registered with `hb`, the YAML templates returned. */
function loadTemplates(root: ArtifactRoot, dir: string, hb: typeof Handlebars): { name: string; file: string }[] {
  const tdir = join(dir, "templates");
  const templates: { name: string; file: string }[] = [];
  if (!root.isDir(tdir)) return templates;
  for (const e of root.list(tdir)) {
    if (e.dir) continue;
    if (e.name.startsWith("_")) {
      if (!/\.(hbs|tpl)$/.test(e.name)) continue;
      const name = e.name.replace(/^_/, "").replace(/\.(hbs|tpl)$/, "");
      try {
        hb.registerPartial(name, hb.compile(root.readText(e.path), COMPILE));
      } catch (err) {
        throw templateError(err, e.path);
      }
    } else if (/\.ya?ml$/.test(e.name)) {
      templates.push({ name: e.name, file: e.path });
    }
  }
  return templates;
}

/** One template rendered with `context` and read as objects (its output bounded by the output limit). */
function renderTemplate(root: ArtifactRoot, hb: typeof Handlebars, t: { file: string }, context: object): KubeObject[] {
  let text: string;
  try {
    text = hb.compile(root.readText(t.file), COMPILE)(context, RUNTIME);
  } catch (err) {
    throw templateError(err, t.file);
  }
  if (Buffer.byteLength(text) > root.limits.maxOutputBytes) {
    throw new RenderError(`rendered output is over the ${root.limits.maxOutputBytes}-byte limit`, { template: t.file, file: t.file });
  }
  try {
    return objectsFromText(text, t.file, root.limits);
  } catch (err) {
    if (err instanceof RenderError) {
      throw new RenderError(`rendered output is not valid: ${err.message.replace(`${t.file}: `, "")}`, { template: t.file }, { cause: err });
    }
    throw err;
  }
}

/**
 * A subchart renders unless its Chart.yaml dependency's `condition` (comma-separated value paths; the first that is
 * set decides, as in Helm) is false, or, without a condition, `values.<subchart>.enabled` is false.
 */
function subchartEnabled(chart: ChartMeta, name: string, values: JsonMap, fromParent: JsonMap): boolean {
  const condition = chart.dependencies?.find((d) => d.name === name)?.condition;
  if (condition) {
    for (const p of condition.split(",").map((x) => x.trim()).filter(Boolean)) {
      let v: unknown = values;
      for (const k of p.split(".")) v = isMap(v) ? v[k] : undefined;
      if (typeof v === "boolean") return v;
    }
    return true;
  }
  return fromParent.enabled !== false;
}

const COMPILE: CompileOptions = { strict: true, noEscape: true };
const RUNTIME = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false };
type CompileOptions = Parameters<typeof Handlebars.compile>[1];

function validateSchema(root: ArtifactRoot, dir: string, values: JsonMap): void {
  const file = join(dir, "values.schema.json");
  if (!root.isFile(file)) return;
  let schema: unknown;
  try {
    schema = JSON.parse(root.readText(file));
  } catch (err) {
    throw new RenderError(`is not valid JSON: ${(err as Error).message}`, { file }, { cause: err });
  }
  let validate;
  try {
    validate = schemaValidator(schema);
  } catch (err) {
    throw new RenderError(`is not a valid JSON schema: ${(err as Error).message}`, { file }, { cause: err });
  }
  if (!validate(values)) {
    const msgs = (validate.errors ?? []).map((e) => {
      const p = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : "(root)";
      const extra = e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : "";
      return `values.${p === "(root)" ? "" : p}`.replace(/\.$/, "") + ` ${e.message ?? "is invalid"}${extra}`;
    });
    throw new RenderError(`values do not match the chart's schema: ${msgs.join("; ")}`, { file });
  }
}

/**
 * A validator for a chart's values.schema.json of any draft, as Helm accepts them: `$schema` picks the dialect
 * (draft 2020-12 and 2019-09 by their own Ajv classes; draft-07, -06 and -04 and none by the default one), written
 * with http or https, with or without the trailing `#`. The `$schema` keyword itself is then left out, so a spelling
 * Ajv does not know by that exact URI is not refused.
 */
export function schemaValidator(schema: unknown): ReturnType<InstanceType<typeof Ajv.default>["compile"]> {
  if (!isMap(schema) && typeof schema !== "boolean") throw new Error("a JSON schema must be an object or a boolean");
  const declared = isMap(schema) && typeof schema.$schema === "string" ? schema.$schema : "";
  const dialect = /draft\/2020-12/.test(declared) ? "2020" : /draft\/2019-09/.test(declared) ? "2019" : "07";
  const opts = { allErrors: true, strict: false } as const;
  const ajv = dialect === "2020" ? new Ajv2020.default(opts) : dialect === "2019" ? new Ajv2019.default(opts) : new Ajv.default(opts);
  addFormats.default(ajv as InstanceType<typeof Ajv.default>);
  let body: unknown = schema;
  if (isMap(schema) && "$schema" in schema) {
    const { $schema: _declared, ...rest } = schema;
    body = rest;
  }
  return ajv.compile(body as object) as ReturnType<InstanceType<typeof Ajv.default>["compile"]>;
}

function templateError(err: unknown, file: string): RenderError {
  if (err instanceof RenderError) {
    return new RenderError(err.message, { file, template: file }, { cause: err });
  }
  if (err instanceof HelperError) return new RenderError(err.message, { file, line: err.line, template: file }, { cause: err });
  const e = err as Error & { lineNumber?: number };
  const full = e.message ?? String(err);
  const parse = full.match(/^Parse error on line (\d+):\n[\s\S]*?\n(Expecting [\s\S]*)$/);
  if (parse) {
    return new RenderError(`template syntax error: ${parse[2]!.trim()}`, { file, line: Number(parse[1]), template: file }, { cause: err });
  }
  let msg = full.replace(/ - \d+:\d+$/, "").replace(/\n[\s\S]*$/, "");
  const notDefined = msg.match(/^"([^"]+)" not defined in/);
  if (notDefined) msg = `"${notDefined[1]}" is not defined (a missing value, or an unknown helper)`;
  else if (/Cannot read properties of (undefined|null)/.test(msg)) msg = `a value path goes through a missing value: ${msg}`;
  return new RenderError(`template failed: ${msg}`, { file, line: e.lineNumber, template: file }, { cause: err });
}

// ---- helpers ---------------------------------------------------------------------------------------------------

/** A helper's own failure; `line` comes from Handlebars' `options.loc`. */
class HelperError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

type HelperOptions = { loc?: { start?: { line?: number } } };
const lineOf = (options: unknown): number | undefined => (options as HelperOptions | undefined)?.loc?.start?.line;

// Every helper receives Handlebars' options object last; `args` strips it.
const args = (a: unknown[]): unknown[] => a.slice(0, -1);
const str = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : isMap(v) || Array.isArray(v) ? JSON.stringify(v) : String(v));
const indent = (n: unknown, s: unknown): string =>
  str(s)
    .split("\n")
    .map((l) => " ".repeat(Number(n)) + l)
    .join("\n");
const empty = (v: unknown): boolean =>
  v === undefined || v === null || v === false || v === "" || v === 0 || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0);

/** The chart helpers that need nothing but their arguments (include, which reads partials, is added per instance). */
const HELPERS = {
  toYaml: (v: unknown) => (v === undefined || v === null ? "" : toYamlText(v).replace(/\n$/, "")),
  toJson: (v: unknown) => JSON.stringify(v ?? null),
  indent: (n: unknown, s: unknown) => indent(n, s),
  nindent: (n: unknown, s: unknown) => "\n" + indent(n, s),
  quote: (...a: unknown[]) => args(a).map((v) => JSON.stringify(str(v))).join(" "),
  default: (d: unknown, v: unknown) => (empty(v) ? d : v),
  required: (msg: unknown, v: unknown, options: unknown) => {
    if (v === undefined || v === null || v === "") throw new HelperError(`required value missing: ${str(msg)}`, lineOf(options));
    return v;
  },
  eq: (a: unknown, b: unknown) => a === b,
  ne: (a: unknown, b: unknown) => a !== b,
  and: (...a: unknown[]) => args(a).every((v) => !empty(v)),
  or: (...a: unknown[]) => {
    const xs = args(a);
    return xs.find((v) => !empty(v)) ?? xs[xs.length - 1];
  },
  not: (v: unknown) => empty(v),
  b64enc: (v: unknown) => Buffer.from(str(v), "utf8").toString("base64"),
  sha256sum: (v: unknown) => createHash("sha256").update(str(v)).digest("hex"),
  trunc: (n: unknown, v: unknown) => {
    const s = str(v);
    const k = Number(n);
    return k >= 0 ? s.slice(0, k) : s.slice(k);
  },
  lower: (v: unknown) => str(v).toLowerCase(),
  trim: (v: unknown) => str(v).trim(),
  replace: (from: unknown, to: unknown, v: unknown) => str(v).split(str(from)).join(str(to)),
  join: (sep: unknown, v: unknown) => (Array.isArray(v) ? v.map(str).join(str(sep)) : str(v)),
  contains: (needle: unknown, v: unknown) => (Array.isArray(v) ? v.includes(needle) : str(v).includes(str(needle))),
  hasKey: (m: unknown, k: unknown) => isMap(m) && Object.prototype.hasOwnProperty.call(m, str(k)),
  len: (v: unknown) => (Array.isArray(v) || typeof v === "string" ? v.length : isMap(v) ? Object.keys(v).length : 0),
  upper: (v: unknown) => str(v).toUpperCase(),
};

function newHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper({
    ...HELPERS,
    include: function (this: unknown, name: unknown, ...rest: unknown[]) {
      const ctx = rest.length > 1 ? rest[0] : this;
      const partial = hb.partials[String(name)] as ((c: unknown, o: unknown) => string) | undefined;
      if (typeof partial !== "function") {
        throw new HelperError(`include: no partial named "${String(name)}" (define templates/_${String(name)}.hbs)`, lineOf(rest[rest.length - 1]));
      }
      // A partial file ends with a newline; `include` returns its text without it (like Helm's `{{- define}}`).
      return partial(ctx, RUNTIME).replace(/\n+$/, "");
    },
  });
  return hb;
}

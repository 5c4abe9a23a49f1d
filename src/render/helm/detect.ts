// Which template engine a chart uses. Mooring's own charts (Handlebars, docs/render.md "helm (Handlebars charts)")
// came first and are laid out like Helm's; real Helm charts use Go templates. The rule (documented in
// docs/render.md "Helm charts"):
//
//   1. spec.render.helm.engine (go | handlebars) decides when set.
//   2. A Chart.yaml without `apiVersion` is a Handlebars chart (Helm refuses such a chart, so no real one is misread).
//   3. Otherwise the chart's own templates decide: any Go-template mark (`{{- `, ` -}}`, an action starting with `.` or
//      `$`, a {{/* */}} comment, end/define/range/template/block, a bare `.` argument) → go; else any Handlebars mark
//      ({{#…}}, {{/…}}, {{>…}}, {{!…}}, {{{…}}}, a `_*.hbs` partial, a lower-case `values.`/`release.`/`chart.`
//      path) → handlebars; else go.
import { isMap } from "../objects.js";
import { RenderError } from "../errors.js";
import { parseYamlDocs } from "../yaml.js";
import { joinRel, type ChartFiles } from "./stage.js";

export type HelmEngine = "go" | "handlebars";
export type HelmEngineChoice = "auto" | HelmEngine;

const GO_MARK = /\{\{-\s|\s-\}\}|\{\{\s*(?:[.$]|\/\*|(?:end|define|range|template|block)\b)|\{\{[^{}]*?\s\.(?:[A-Z$]|\s*(?:\}\}|\)))/;
const HANDLEBARS_MARK = /\{\{[#>!^~]|\{\{\/(?!\*)|\{\{\{|\{\{[^{}]*?(?<=[\s({])(?:values|release|chart|capabilities)\.[A-Za-z_]/;

/** What detection concluded, and why (for errors and `mooring render` users wondering). */
export interface EngineDecision {
  engine: HelmEngine;
  reason: string;
}

export function chartApiVersion(files: ChartFiles, dir: string): string | undefined {
  const file = joinRel(dir, "Chart.yaml");
  const docs = parseYamlDocs(files.bytes(file).toString("utf8"), file, files.root.limits);
  const c = docs[0]?.value;
  if (!isMap(c)) throw new RenderError("must be a YAML map", { file });
  return c.apiVersion === undefined || c.apiVersion === null ? undefined : String(c.apiVersion);
}

export function detectEngine(files: ChartFiles, dir: string, choice: HelmEngineChoice = "auto"): EngineDecision {
  if (choice === "go" || choice === "handlebars") return { engine: choice, reason: "spec.render.helm.engine" };
  if (chartApiVersion(files, dir) === undefined) return { engine: "handlebars", reason: "Chart.yaml has no apiVersion" };
  const tdir = joinRel(dir, "templates");
  if (!files.root.isDir(tdir)) return { engine: "go", reason: "Chart.yaml has an apiVersion" };
  let handlebars: string | undefined;
  for (const f of files.walk(tdir)) {
    if (/(^|\/)_[^/]*\.hbs$/.test(f)) {
      handlebars ??= f;
      continue;
    }
    const buf = files.bytes(f);
    if (buf.includes(0)) continue;
    const text = buf.toString("utf8");
    if (GO_MARK.test(text)) return { engine: "go", reason: `${f} uses Go-template syntax` };
    if (!handlebars && HANDLEBARS_MARK.test(text)) handlebars = f;
  }
  if (handlebars) return { engine: "handlebars", reason: `${handlebars} uses Handlebars syntax` };
  return { engine: "go", reason: "Chart.yaml has an apiVersion" };
}

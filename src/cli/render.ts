// `mooring render <dir>`: prints the objects a directory renders to, exactly as the controller would produce them
// (same renderers, same post-render steps, same canonical serialisation), so users can review a change before
// pushing it. Exit code 1 with the renderer's message (file, line, template) on error.
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { render, serialize, type RenderType } from "../render/index.js";
import { isRenderError } from "../render/errors.js";

/**
 * The root a path renders in, like the controller's artifact: the enclosing Git work tree (so overlays can use
 * `../base`), else the current directory when `dir` is inside it, else `dir` itself (its directory for a file).
 */
export function defaultRoot(dir: string): string {
  const abs = path.resolve(dir);
  for (let d = abs; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, ".git"))) return d;
    if (path.dirname(d) === d) break;
  }
  const cwd = process.cwd();
  if (abs === cwd || abs.startsWith(cwd + path.sep)) return cwd;
  return fs.existsSync(abs) && fs.statSync(abs).isFile() ? path.dirname(abs) : abs;
}

interface RenderCliOptions {
  root?: string;
  type: RenderType;
  values: string[];
  set: string[];
  namespace?: string;
  release?: string;
  output: "yaml" | "json";
  application?: string;
  digest?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `a.b.c=value` into a nested object; the value is read as a YAML scalar (so 3 is a number, true a boolean). */
export function setPath(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new Error(`--set ${JSON.stringify(assignment)} is not key=value`);
  const keys = assignment.slice(0, eq).split(".");
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === "" ? "" : parseYaml(raw);
  } catch {
    value = raw;
  }
  let node = target;
  keys.forEach((k, i) => {
    if (!k || k === "__proto__" || k === "constructor" || k === "prototype") throw new Error(`--set ${JSON.stringify(assignment)}: bad key`);
    if (i === keys.length - 1) node[k] = value;
    else {
      const next = node[k];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
  });
}

function readValuesFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`--values ${file}: ${(err as Error).message}`);
  }
  const v: unknown = parseYaml(text, { maxAliasCount: 100 });
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new Error(`--values ${file}: must be a YAML map`);
  return v as Record<string, unknown>;
}

export function runRender(dir: string, opts: RenderCliOptions): string {
  const inline: Record<string, unknown> = {};
  for (const s of opts.set) setPath(inline, s);
  let application: { namespace: string; name: string } | undefined;
  if (opts.application) {
    const [ns, name] = opts.application.split("/");
    if (!ns || !name) throw new Error(`--application ${JSON.stringify(opts.application)} must be NAMESPACE/NAME`);
    application = { namespace: ns, name };
  }
  const root = path.resolve(opts.root ?? defaultRoot(dir));
  const target = path.relative(root, path.resolve(dir));
  if (target.startsWith("..") || path.isAbsolute(target)) throw new Error(`${dir} is not inside the root ${root} (--root)`);
  const out = render(root, target, {
    type: opts.type,
    targetNamespace: opts.namespace,
    application,
    helm: {
      releaseName: opts.release,
      namespace: opts.namespace,
      valuesFrom: opts.values.map(readValuesFile),
      values: inline,
    },
  });
  const body = serialize(out.objects, opts.output);
  return opts.digest ? `${body}${opts.output === "yaml" ? `# digest: ${out.digest}\n` : ""}` : body;
}

export function registerRenderCommands(program: Command): void {
  program
    .command("render")
    .description("render a directory (plain manifests, a kustomization or a Handlebars chart) and print the objects")
    .argument("<dir>", "directory (or manifest file) to render, inside --root")
    .addOption(new Option("--type <type>", "renderer").choices(["auto", "plain", "kustomize", "helm"]).default("auto"))
    .option("--values <file>", "chart values file, merged in order (repeatable)", collect, [])
    .option("--set <key=value>", "chart value, merged last (repeatable)", collect, [])
    .option("--root <dir>", "directory paths may not leave, like the controller's artifact (default: the enclosing Git work tree)")
    .option("--namespace <ns>", "namespace for namespaced objects that set none (and the chart's release namespace)")
    .option("--release <name>", "chart release name (default: the chart name)")
    .option("--application <namespace/name>", "add Mooring's labels as for this Application")
    .option("--digest", "print the output digest as a trailing YAML comment")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .action((dir: string, opts: RenderCliOptions) => {
      try {
        process.stdout.write(runRender(dir, opts));
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`mooring render: ${isRenderError(err) ? msg : `error: ${msg}`}\n`);
        process.exitCode = 1;
      }
    });
}

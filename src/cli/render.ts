// `mooring render <dir>`: prints the objects a directory renders to, exactly as the controller would produce them
// (same renderers, same post-render steps, same canonical serialisation), so users can review a change before
// pushing it. Exit code 1 with the renderer's message (file, line, template) on error. Secret values (data,
// stringData, a last-applied-configuration copy) are printed as `***` unless --show-secrets; the --digest is the
// controller's, of the unmasked objects.
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { YAMLParseError, parse as parseYaml } from "yaml";
import { render, serialize, type RenderType } from "../render/index.js";
import { isRenderError } from "../render/errors.js";
import { maskSecrets } from "./format.js";
import { readText } from "./read.js";

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
  /** Print Secret values instead of `***`. */
  showSecrets?: boolean;
  /** Charts: .Capabilities.KubeVersion (helm template --kube-version). */
  kubeVersion?: string;
  /** Charts: added to .Capabilities.APIVersions (helm template --api-versions; repeatable, comma-separated). */
  apiVersions?: string[];
  /** Charts: render as an upgrade (.Release.IsUpgrade, upgrade hooks). */
  isUpgrade?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `a.b.c=value` into a nested object; the value is read as a YAML scalar (so 3 is a number, true a boolean). */
export function setPath(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  // Messages quote the key only: the value may be a password typed on the command line.
  if (eq <= 0) throw new Error(`--set takes key=value; one of them has no "=" or no key${eq < 0 ? "" : ` (${JSON.stringify(assignment.slice(0, eq))})`}`);
  const key = assignment.slice(0, eq);
  const keys = key.split(".");
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === "" ? "" : parseYaml(raw);
  } catch {
    value = raw;
  }
  let node = target;
  keys.forEach((k, i) => {
    if (!k || k === "__proto__" || k === "constructor" || k === "prototype") throw new Error(`--set ${JSON.stringify(key)}=…: bad key`);
    if (i === keys.length - 1) node[k] = value;
    else {
      const next = node[k];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
  });
}

function readValuesFile(file: string): Record<string, unknown> {
  const read = readText(file);
  if ("error" in read) throw new Error(`--values ${file}: ${read.error}`);
  const { text } = read;
  let v: unknown;
  try {
    v = parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (err) {
    // Without prettyErrors the message quotes no line of the file (values files hold passwords too).
    if (!(err instanceof YAMLParseError)) throw err;
    const before = text.slice(0, err.pos[0]);
    const line = before.split("\n").length;
    const col = before.length - before.lastIndexOf("\n");
    throw new Error(`--values ${file}:${line}:${col}: not valid YAML: ${err.message}`);
  }
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
      ...(opts.kubeVersion ? { kubeVersion: opts.kubeVersion } : {}),
      ...(opts.apiVersions?.length ? { apiVersions: opts.apiVersions.flatMap((a) => a.split(",")).map((a) => a.trim()).filter(Boolean) } : {}),
      ...(opts.isUpgrade ? { isUpgrade: true } : {}),
    },
  });
  const body = serialize(opts.showSecrets ? out.objects : out.objects.map((o) => maskSecrets(o)), opts.output);
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
    .option("--show-secrets", "print Secret values (data, stringData) instead of ***")
    .option("--kube-version <version>", "charts: Kubernetes version for .Capabilities.KubeVersion (default v1.36.3)")
    .option("--api-versions <list>", "charts: API versions added to .Capabilities.APIVersions, comma-separated (repeatable)", collect, [])
    .option("--is-upgrade", "charts: render as an upgrade (.Release.IsUpgrade, upgrade hooks)")
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

// Kustomize's ConfigMap and Secret generators (configMapGenerator, secretGenerator, and the ConfigMapGenerator and
// SecretGenerator plugins): their arguments and options read, and the object made from literals, files and env files.
import * as path from "node:path";
import { RenderError } from "../errors.js";
import { isUtf8, type ArtifactRoot } from "../fs.js";
import { isMap, setOrigin, type JsonMap, type KubeObject } from "../objects.js";
import { readFileUnder, resolveUnder, type Kust } from "./context.js";
import { bool, checkKeys, str, stringList, stringMap } from "./fields.js";
import { newRes, type Res } from "./resource.js";

export interface GenOptions {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  disableNameSuffixHash: boolean;
  immutable: boolean;
}

export function readGenOptions(v: unknown, file: string, field: string): GenOptions | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new RenderError(`"${field}" must be a map`, { file });
  checkKeys(v, ["labels", "annotations", "disableNameSuffixHash", "immutable"], file, field);
  return {
    labels: stringMap(v.labels, file, `${field}.labels`),
    annotations: stringMap(v.annotations, file, `${field}.annotations`),
    disableNameSuffixHash: bool(v.disableNameSuffixHash, file, `${field}.disableNameSuffixHash`),
    immutable: bool(v.immutable, file, `${field}.immutable`),
  };
}

/** MergeGlobalOptionsIntoLocal: the generator's own labels and annotations win; either one disables the hash. */
export function mergeGenOptions(local: GenOptions | undefined, global: GenOptions | undefined): GenOptions | undefined {
  if (!global) return local;
  const l = local ?? { labels: {}, annotations: {}, disableNameSuffixHash: false, immutable: false };
  return {
    labels: { ...global.labels, ...l.labels },
    annotations: { ...global.annotations, ...l.annotations },
    disableNameSuffixHash: l.disableNameSuffixHash || global.disableNameSuffixHash,
    immutable: l.immutable || global.immutable,
  };
}

export interface GenArgs {
  kind: "ConfigMap" | "Secret";
  name: string;
  namespace: string;
  behavior: string;
  literals: string[];
  files: string[];
  envs: string[];
  options?: GenOptions;
  type: string;
}

const GEN_KEYS = ["name", "namespace", "behavior", "literals", "files", "envs", "env", "options"];

export function readGenArgs(g: JsonMap, kind: "ConfigMap" | "Secret", file: string, field: string, extra: string[] = []): GenArgs {
  checkKeys(g, [...GEN_KEYS, ...(kind === "Secret" ? ["type"] : []), ...extra], file, field);
  const name = str(g.name, file, `${field}.name`);
  const env = str(g.env, file, `${field}.env`);
  return {
    kind,
    name,
    namespace: str(g.namespace, file, `${field}.namespace`),
    behavior: str(g.behavior, file, `${field}.behavior`),
    literals: stringList(g.literals, file, `${field}.literals`),
    files: stringList(g.files, file, `${field}.files`),
    envs: [...stringList(g.envs, file, `${field}.envs`), ...(env ? [env] : [])],
    options: readGenOptions(g.options, file, `${field}.options`),
    type: kind === "Secret" ? str(g.type, file, `${field}.type`) : "",
  };
}

export function generate(root: ArtifactRoot, kust: Kust, g: GenArgs, field: string): Res {
  const { file } = kust;
  if (!g.name) throw new RenderError(`a ${g.kind} generator has no name`, { file });
  const { data, binary } = readData(root, kust, g, field);
  const obj = generatedObject(g, data, binary);
  if (g.behavior && !["create", "merge", "replace"].includes(g.behavior)) {
    throw new RenderError(`${field} "${g.name}": unknown behavior "${g.behavior}" (use create, merge or replace)`, { file });
  }
  setOrigin(obj, { file });
  const r = newRes(obj, file);
  r.needsHash = !g.options?.disableNameSuffixHash;
  r.behavior = (g.behavior || "create") as Res["behavior"];
  return r;
}

/** The generator's keys from its literals, files and env files: text as data, anything not UTF-8 as binary (base64). */
function readData(root: ArtifactRoot, kust: Kust, g: GenArgs, field: string): { data: Record<string, string>; binary: Record<string, string> } {
  const { file } = kust;
  const { kind, name } = g;
  const data: Record<string, string> = {};
  const binary: Record<string, string> = {};
  const put = (key: string, value: string | Buffer, from: string): void => {
    if (key in data || key in binary) throw new RenderError(`${kind.toLowerCase()} ${name} illegally repeats the key \`${key}\` (${from})`, { file });
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new RenderError(`${kind} generator "${name}": ${JSON.stringify(key)} is not a valid key name (letters, digits, "-", "_", ".")`, { file });
    if (typeof value === "string") data[key] = value;
    else if (isUtf8(value)) data[key] = value.toString("utf8");
    else binary[key] = value.toString("base64");
  };
  // A Secret's literal or env line is not quoted in a refusal: it may be the secret (the message reaches status).
  const secret = kind === "Secret";
  for (const [n, lit] of g.literals.entries()) {
    const i = lit.indexOf("=");
    if (i <= 0) throw new RenderError(`${kind} generator "${name}": literal ${secret ? `#${n + 1}` : JSON.stringify(lit)} is not key=value`, { file });
    put(lit.slice(0, i), unquote(lit.slice(i + 1)), "literals");
  }
  for (const f of g.files) {
    const { key, src } = fileSource(f, g, file);
    const p = resolveUnder(root, kust, src, `${field} ${JSON.stringify(name)} file`);
    put(key, root.readBytes(p), p);
  }
  for (const e of g.envs) {
    const { text, where } = readFileUnder(root, kust, e, `${field} ${JSON.stringify(name)} env file`);
    parseEnvFile(text, where, secret).forEach(([key, value]) => put(key, value, where));
  }
  return { data, binary };
}

/** A `files` entry: `path` (the key is its base name) or `key=path`. */
function fileSource(f: string, g: GenArgs, file: string): { key: string; src: string } {
  const { kind, name } = g;
  const eqs = f.split("=").length - 1;
  if (eqs > 1) throw new RenderError(`${kind} generator "${name}": source ${JSON.stringify(f)} key name or file path contains '='`, { file });
  if (f.startsWith("=")) throw new RenderError(`${kind} generator "${name}": missing key name for file path in source ${JSON.stringify(f)}`, { file });
  if (eqs === 1 && f.endsWith("=")) throw new RenderError(`${kind} generator "${name}": missing file path in source ${JSON.stringify(f)}`, { file });
  const i = f.indexOf("=");
  return { key: i > 0 ? f.slice(0, i) : path.posix.basename(f), src: i > 0 ? f.slice(i + 1) : f };
}

/** The ConfigMap or Secret made: metadata from the options, a Secret's values base64 (wrapped as Kustomize does). */
function generatedObject(g: GenArgs, data: Record<string, string>, binary: Record<string, string>): KubeObject {
  const { kind, name } = g;
  const opts = g.options;
  const metadata: KubeObject["metadata"] = { name };
  if (g.namespace) metadata.namespace = g.namespace;
  if (opts && Object.keys(opts.labels).length) metadata.labels = { ...opts.labels };
  if (opts && Object.keys(opts.annotations).length) metadata.annotations = { ...opts.annotations };
  const obj: KubeObject = { apiVersion: "v1", kind, metadata };
  if (kind === "Secret") {
    const enc: Record<string, string> = {};
    for (const [k2, v] of Object.entries(data)) enc[k2] = wrapBase64(Buffer.from(v, "utf8").toString("base64"));
    for (const [k2, v] of Object.entries(binary)) enc[k2] = wrapBase64(v);
    if (Object.keys(enc).length) obj.data = enc;
    obj.type = g.type || "Opaque";
  } else {
    if (Object.keys(data).length) obj.data = data;
    if (Object.keys(binary).length) obj.binaryData = binary;
  }
  if (opts?.immutable) obj.immutable = true;
  return obj;
}

/** Kustomize breaks Secret values longer than 70 base64 characters into newline-terminated lines. */
function wrapBase64(b64: string): string {
  if (b64.length <= 70) return b64;
  let out = "";
  for (let i = 0; i < b64.length; i += 70) out += b64.slice(i, i + 70) + "\n";
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function parseEnvFile(text: string, file: string, secret: boolean): [string, string][] {
  const out: [string, string][] = [];
  text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
      if (!line || line.startsWith("#")) return;
      const eq = line.indexOf("=");
      if (eq <= 0) {
        throw new RenderError(`env line ${secret ? "" : `${JSON.stringify(line)} `}is not KEY=VALUE (reading variables from the environment is not supported)`, {
          file,
          line: i + 1,
        });
      }
      const key = line.slice(0, eq);
      if (/\s/.test(key)) throw new RenderError(`env key ${JSON.stringify(key)} contains whitespace`, { file, line: i + 1 });
      out.push([key, line.slice(eq + 1)]);
    });
  return out;
}

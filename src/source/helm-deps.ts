// The dependencies of a chart from Git, with no Kubernetes and no network: which of Chart.yaml's dependencies are
// missing from charts/, which version each is downloaded at (Chart.lock's pin first, else the newest in
// Chart.yaml's range), and whether Chart.lock is in sync with Chart.yaml, checked as `helm dependency build` checks it
// (the lock's digest is sha256 of Go's JSON of [Chart.yaml's dependencies, the lock's], helm's resolver.HashReq).
// docs/source.md "Charts in Git: dependencies".
import { createHash } from "node:crypto";
import semver from "semver";
import { parse as parseYaml } from "yaml";
import { HelmSourceError, newestVersions, type IndexEntry, type RepositoryIndex } from "./helm-repo.js";

/** A Chart.yaml (requirements.yaml, Chart.lock) dependency, with the fields helm's chart.Dependency has. */
export interface ChartDependency {
  name: string;
  version?: string;
  repository: string;
  condition?: string;
  tags?: string[];
  enabled?: boolean;
  importValues?: unknown[];
  alias?: string;
}

export interface ChartMeta {
  apiVersion: string;
  name: string;
  version: string;
  /** undefined: no dependencies key (Go's nil slice, `null` in the digest's JSON). */
  dependencies: ChartDependency[] | undefined;
}

export interface ChartLock {
  digest: string;
  dependencies: ChartDependency[] | undefined;
}

function yamlMap(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100, prettyErrors: false, uniqueKeys: false });
  } catch (err) {
    throw new HelmSourceError("InvalidChart", `${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new HelmSourceError("InvalidChart", `${file} is not a YAML map`);
  return doc as Record<string, unknown>;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : String(v);
}

function dependencyList(v: unknown, file: string): ChartDependency[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new HelmSourceError("InvalidChart", `${file}: dependencies must be a list`);
  return v.map((d, i) => {
    if (!d || typeof d !== "object" || Array.isArray(d)) throw new HelmSourceError("InvalidChart", `${file}: dependencies[${i}] is not a map`);
    const m = d as Record<string, unknown>;
    const name = str(m.name);
    if (!name) throw new HelmSourceError("InvalidChart", `${file}: dependencies[${i}] has no name`);
    const out: ChartDependency = { name, repository: str(m.repository) ?? "" };
    const version = str(m.version);
    if (version) out.version = version;
    const condition = str(m.condition);
    if (condition) out.condition = condition;
    if (Array.isArray(m.tags) && m.tags.length) out.tags = m.tags.map((t) => String(t));
    if (m.enabled === true) out.enabled = true;
    if (Array.isArray(m["import-values"]) && m["import-values"].length) out.importValues = m["import-values"] as unknown[];
    const alias = str(m.alias);
    if (alias) out.alias = alias;
    return out;
  });
}

/** Chart.yaml; for apiVersion v1, `requirements` is requirements.yaml's text (where v1 charts list dependencies). */
export function parseChartMeta(chartYaml: string, file: string, requirements?: { text: string; file: string }): ChartMeta {
  const c = yamlMap(chartYaml, file);
  const name = str(c.name);
  if (!name) throw new HelmSourceError("InvalidChart", `${file} has no name`);
  const apiVersion = str(c.apiVersion) ?? "v1";
  let dependencies = dependencyList(c.dependencies, file);
  if (apiVersion === "v1" && requirements) dependencies = dependencyList(yamlMap(requirements.text, requirements.file).dependencies, requirements.file);
  return { apiVersion, name, version: str(c.version) ?? "", dependencies };
}

export function parseLock(text: string, file: string): ChartLock {
  const l = yamlMap(text, file);
  return { digest: str(l.digest) ?? "", dependencies: dependencyList(l.dependencies, file) };
}

/**
 * JSON as Go's encoding/json writes it for helm's chart.Dependency: fields in struct order, empty optional fields
 * left out, map keys sorted, and <, >, &, U+2028 and U+2029 escaped.
 */
export function goJson(v: unknown): string {
  const sorted = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sorted);
    if (x && typeof x === "object") return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted((x as Record<string, unknown>)[k])]));
    return x;
  };
  return JSON.stringify(sorted(v)).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function depJson(d: ChartDependency): string {
  const parts = [`"name":${goJson(d.name)}`];
  if (d.version) parts.push(`"version":${goJson(d.version)}`);
  parts.push(`"repository":${goJson(d.repository)}`);
  if (d.condition) parts.push(`"condition":${goJson(d.condition)}`);
  if (d.tags?.length) parts.push(`"tags":${goJson(d.tags)}`);
  if (d.enabled) parts.push(`"enabled":true`);
  if (d.importValues?.length) parts.push(`"import-values":${goJson(d.importValues)}`);
  if (d.alias) parts.push(`"alias":${goJson(d.alias)}`);
  return `{${parts.join(",")}}`;
}

const listJson = (l: ChartDependency[] | undefined): string => (l === undefined ? "null" : `[${l.map(depJson).join(",")}]`);
const sha = (s: string): string => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** helm's resolver.HashReq: the digest Chart.lock records for these Chart.yaml dependencies and this lock. */
export function hashReq(req: ChartDependency[] | undefined, lock: ChartDependency[] | undefined): string {
  return sha(`[${listJson(req)},${listJson(lock)}]`);
}

/** helm's resolver.HashV2Req: the digest of a Helm 2 requirements.lock (accepted for apiVersion v1 charts, as helm does). */
export function hashV2Req(req: ChartDependency[] | undefined): string {
  return sha(`{"dependencies":${listJson(req)}}`);
}

/**
 * A repository URL compared as Flux compares a dependency's repository with HelmRepositories' spec.url: scheme and
 * host lower case; an http(s) path with one trailing slash, an oci:// path with none.
 */
export function normalizeRepoUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  u.search = u.search === "?" ? "" : u.search;
  u.hash = "";
  const p = u.pathname.replace(/\/+$/, "");
  return `${u.protocol}//${u.host}${u.protocol === "oci:" ? p : `${p}/`}${u.search}`;
}

/** `@name` or `alias:name`: a HelmRepository named `name` (helm: a repository of repositories.yaml by name). */
export function repositoryAlias(repository: string): string | undefined {
  if (repository.startsWith("@")) return repository.slice(1);
  if (repository.startsWith("alias:")) return repository.slice(6);
  return undefined;
}

/** A dependency to download: the version Chart.lock pins, or the range Chart.yaml gives. */
export interface MissingDependency {
  name: string;
  /** As Chart.yaml (or Chart.lock) writes it. */
  repository: string;
  /** The repository URL (an alias replaced by its HelmRepository's spec.url). */
  url: string;
  pinned?: string;
  range?: string;
}

export interface DependencyPlan {
  /** Chart.lock was present (and in sync). */
  locked: boolean;
  missing: MissingDependency[];
}

/**
 * What to download for `chart` (named `what` in messages), given its lock, the names of the charts already in
 * charts/ (directories and archives, by their Chart.yaml name) and the URL of each HelmRepository by name (for
 * `@name` and `alias:name`). Throws LockOutOfSync as `helm dependency build` refuses, and names every dependency
 * that cannot be downloaded.
 */
export function planDependencies(chart: ChartMeta, lock: ChartLock | undefined, vendored: ReadonlySet<string>, aliasUrl: (name: string) => string | undefined, what: string): DependencyPlan {
  const lockFile = chart.apiVersion === "v1" ? "requirements.lock" : "Chart.lock";
  const depsFile = chart.apiVersion === "v1" ? "requirements.yaml" : "Chart.yaml";
  const resolve = (d: ChartDependency): string => {
    const alias = repositoryAlias(d.repository);
    if (alias === undefined) return d.repository;
    const url = aliasUrl(alias);
    if (url === undefined) {
      throw new HelmSourceError(
        "DependencyRepositoryNotFound",
        `${what}: dependency "${d.name}" names repository "${d.repository}", but there is no HelmRepository "${alias}" in the HelmChart's namespace; create it (its spec.url is the repository) or write the repository's URL in ${depsFile}`,
      );
    }
    return url;
  };
  const req = chart.dependencies;
  if (lock) assertLockInSync(chart, lock, { what, lockFile, depsFile, vendored, aliasUrl, resolve });
  // As Flux: the lock's entries when there is a lock, else Chart.yaml's; each chart name once; those in charts/ kept.
  const wanted = lock ? (lock.dependencies ?? []) : (req ?? []);
  const seen = new Set<string>();
  const missing: MissingDependency[] = [];
  for (const d of wanted) {
    if (vendored.has(d.name) || seen.has(d.name)) continue;
    seen.add(d.name);
    if (!d.repository) {
      throw new HelmSourceError("DependencyNotFound", `${what}: dependency "${d.name}" has no repository and is not in charts/; vendor it into charts/ or give its repository in ${depsFile}`);
    }
    if (d.repository.startsWith("file://")) {
      throw new HelmSourceError("DependencyNotFound", `${what}: dependency "${d.name}" is a local chart (${d.repository}), not in charts/; local (file://) dependencies are not resolved: vendor it into charts/ (helm dependency build) and commit it`);
    }
    const url = resolve(d);
    if (!/^(https?|oci):\/\//.test(url)) {
      throw new HelmSourceError("DependencyRepositoryNotFound", `${what}: dependency "${d.name}" names repository "${d.repository}", which is not an http(s):// or oci:// URL, an @name or an alias:name`);
    }
    if (!d.version) throw new HelmSourceError("InvalidChart", `${what}: dependency "${d.name}" has no version in ${lock ? lockFile : depsFile}`);
    if (lock) missing.push({ name: d.name, repository: d.repository, url, pinned: d.version });
    else {
      const range = helmRange(d.version);
      if (range === undefined) throw new HelmSourceError("InvalidChart", `${what}: dependency "${d.name}" has an invalid version constraint "${d.version}" in ${depsFile}`);
      missing.push({ name: d.name, repository: d.repository, url, range });
    }
  }
  return { locked: lock !== undefined, missing };
}

/** Throws LockOutOfSync, as `helm dependency build` refuses, when the lock's digest is not the dependencies'. */
function assertLockInSync(
  chart: ChartMeta,
  lock: ChartLock,
  c: { what: string; lockFile: string; depsFile: string; vendored: ReadonlySet<string>; aliasUrl: (name: string) => string | undefined; resolve: (d: ChartDependency) => string },
): void {
  const req = chart.dependencies;
  // As helm: an apiVersion v1 chart's lock may carry Helm 2's digest (of the requirements before aliases are
  // replaced); every digest is computed with `@name` replaced by the repository's URL.
  const v2 = chart.apiVersion === "v1" ? hashV2Req(req) : undefined;
  const resolved = req?.map((d) => {
    const alias = repositoryAlias(d.repository);
    if (alias === undefined) return d;
    // A vendored dependency needs no repository: its alias is replaced only when the HelmRepository exists.
    const url = c.vendored.has(d.name) ? c.aliasUrl(alias) : c.resolve(d);
    return url === undefined ? d : { ...d, repository: url };
  });
  const sum = hashReq(resolved, lock.dependencies);
  if (sum !== lock.digest && v2 !== lock.digest) {
    throw new HelmSourceError(
      "LockOutOfSync",
      `${c.what}: the lock file (${c.lockFile}) is out of sync with the dependencies file (${c.depsFile}): its digest is ${lock.digest || "missing"}, the dependencies' is ${sum}; run 'helm dependency update' and commit ${c.lockFile}`,
    );
  }
}

/**
 * A Helm (Masterminds) version constraint as an npm semver range: `,` is AND (a space in npm), `||` is OR in both;
 * undefined when it is not a valid range.
 */
export function helmRange(constraint: string): string | undefined {
  const r = constraint.replace(/\s*,\s*/g, " ").trim();
  return semver.validRange(r, { loose: true }) === null ? undefined : r;
}

/** A version pinned by Chart.lock equals a repository's version: the same string (a leading v ignored), or the same semver with the same build metadata. */
export function sameVersion(a: string, b: string): boolean {
  const strip = (v: string) => v.trim().replace(/^v/, "");
  if (strip(a) === strip(b)) return true;
  const x = semver.parse(strip(a), { loose: true });
  const y = semver.parse(strip(b), { loose: true });
  return Boolean(x && y && x.compare(y) === 0 && x.build.join(".") === y.build.join("."));
}

/** The index entry of the version Chart.lock pins (NoMatchingVersion when the repository no longer has it). */
export function pinnedEntry(index: RepositoryIndex, chart: string, version: string): IndexEntry {
  const list = index.entries.get(chart);
  if (!list || list.length === 0) throw new HelmSourceError("ChartNotFound", `the repository has no chart "${chart}"`);
  const e = list.find((x) => sameVersion(x.version, version));
  if (!e) throw new HelmSourceError("NoMatchingVersion", `the repository has no version ${version} of chart "${chart}" (newest: ${newestVersions(list)})`);
  return e;
}

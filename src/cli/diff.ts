// `mooring diff <app>`: what a sync would change. The rendered artifact (status.render.artifact) is downloaded and its
// sha256 checked against the digest; each object is applied with a server-side dry run as field manager `mooring`
// (what the apply controller does, minus the write), and the YAML of the live object is compared with the dry-run
// result — so defaulting, admission and ownership are the API server's own, not a guess. Objects in the inventory
// that the render no longer has are shown as deletions when the policy prunes. Secret values are masked (kubectl
// diff's `***`, `*** (before)`/`*** (after)`) in the diff and in every message, unless showSecrets.
// The dry runs are made as the Application's identity, as the apply controller makes its writes: impersonating its
// spec.serviceAccountName, else the operator's default ServiceAccount in its namespace (defaultServiceAccount), so a
// user sees what the controller would be allowed to do, including what it would be refused.
import { createTwoFilesPatch } from "diff";
import { type Application, type SyncPolicy } from "../api/index.js";
import { FieldManagers } from "../api/constants.js";
import { ApplicationKind, SyncPolicyKind } from "../api/kinds.js";
import { DownloadError, download } from "../artifact/download.js";
import { MAX_RENDERED_BYTES } from "../apply/artifact.js";
import { idOf, refOf, refOfEntry, type InventoryEntry } from "../apply/inventory.js";
import { applicationLabelValue, effectivePolicy, otherOwner, type EffectivePolicy } from "../apply/policy.js";
import { ApiError, NoKindMatchError, isConflict, isNotFound, parseApiVersion, serviceAccountUser, type Client, type KubeObject } from "../runtime/index.js";
import { colourDiff, maskSecretPair, paint, redactSecretValues, secretValuesOf, toYaml } from "./format.js";
import { CliError, Exit, describeError, type ExitCode, type Io } from "./kube.js";

export interface DiffOptions {
  namespace: string;
  name: string;
  /** Lines of context around each change (default 3). */
  context?: number;
  /** Timeout for the artifact download (default 30 s). */
  downloadTimeoutMs?: number;
  /** Print Secret values instead of masks (default false: `mooring diff --show-secrets`). */
  showSecrets?: boolean;
  /**
   * The ServiceAccount the operator applies an Application without spec.serviceAccountName as: its
   * --default-service-account (`mooring diff --default-service-account`, default "default"). Empty or undefined:
   * such an Application is dry-run with the caller's own credentials (the single-tenant opt-out, where the operator
   * applies it with its own identity).
   */
  defaultServiceAccount?: string;
}

/** Whom the dry runs are made as: a ServiceAccount user and why, or the caller's own credentials. */
export interface DiffIdentity {
  /** `system:serviceaccount:<namespace>:<name>`, or undefined for the caller's own credentials. */
  user?: string;
  /** Where the identity comes from, for messages. */
  source: string;
}

/** The identity the apply controller writes an Application's objects as (docs/tenancy.md). */
export function diffIdentity(app: { metadata?: { namespace?: string }; spec: { serviceAccountName?: string } }, defaultServiceAccount: string | undefined): DiffIdentity {
  const ns = app.metadata?.namespace ?? "";
  if (app.spec.serviceAccountName) return { user: serviceAccountUser(ns, app.spec.serviceAccountName), source: "the Application's spec.serviceAccountName" };
  if (defaultServiceAccount) return { user: serviceAccountUser(ns, defaultServiceAccount), source: "the operator's default ServiceAccount, as the Application names none (--default-service-account)" };
  return { source: "your own credentials, as the Application names no ServiceAccount and --default-service-account is empty" };
}

/** The API server refused to let the caller act as someone else (the impersonate verb), not the dry run itself. */
function impersonationRefused(err: unknown): boolean {
  return err instanceof ApiError && err.code === 403 && /cannot impersonate/.test(err.status.message ?? err.message);
}

type App = Application & KubeObject;

export type ObjectDiff =
  | { id: string; change: "unchanged" }
  | { id: string; change: "created" | "changed" | "pruned"; patch: string; note?: string }
  | { id: string; change: "error"; message: string };

/** Fields that differ on every read or are not what a sync sets: never part of the comparison. */
export function normalize(obj: KubeObject | undefined, isNew = false): KubeObject | undefined {
  if (!obj) return undefined;
  const o = structuredClone(obj) as KubeObject & { status?: unknown };
  delete o.status;
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  for (const f of ["managedFields", "resourceVersion", "generation"]) delete m[f];
  // A dry-run create invents these; showing them as added lines is noise.
  if (isNew) for (const f of ["uid", "creationTimestamp"]) delete m[f];
  return o;
}

/** Removes the field a JSON pointer names, if present (ignoreDifferences). */
export function removePointer(obj: unknown, pointer: string): void {
  const tokens = pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: unknown = obj;
  for (let i = 0; i < tokens.length - 1; i++) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<string, unknown>)[tokens[i]!];
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined || node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    const i = Number(last);
    if (Number.isInteger(i) && i >= 0 && i < node.length) node.splice(i, 1);
  } else delete (node as Record<string, unknown>)[last];
}

/** The ignoreDifferences pointers of the Application that apply to an object. */
export function ignoredPointers(app: App, obj: KubeObject): string[] {
  const group = parseApiVersion(obj.apiVersion ?? "").group;
  return (app.spec.ignoreDifferences ?? [])
    .filter((d) => (d.group ?? "") === group && d.kind === obj.kind && (!d.name || d.name === obj.metadata?.name) && (!d.namespace || d.namespace === obj.metadata?.namespace))
    .flatMap((d) => d.jsonPointers);
}

/** A unified diff of two YAML documents, or "" when equal. */
export function yamlPatch(id: string, before: KubeObject | undefined, after: KubeObject | undefined, context = 3): string {
  const a = before ? toYaml(before) : "";
  const b = after ? toYaml(after) : "";
  if (a === b) return "";
  const patch = createTwoFilesPatch(before ? `live/${id}` : "/dev/null", after ? `sync/${id}` : "/dev/null", a, b, undefined, undefined, { context });
  return patch
    .split("\n")
    .filter((l) => !l.startsWith("Index:") && !/^=+$/.test(l))
    .join("\n")
    .trimEnd();
}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause. */
function causeText(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const c = e.cause;
  return c && (c.code || c.message) ? `${e.message} (${[c.code, c.message].filter(Boolean).join(": ")})` : e.message;
}

/** Why the CLI could not download the rendered artifact of `ref`, in its own words (exit 2). */
function downloadProblem(ref: string, expected: string, err: DownloadError): CliError {
  const f = err.failure;
  if (f.kind === "digest") return new CliError(`the rendered artifact of ${ref} does not match its digest (${expected} in status, ${f.actual} downloaded); it may have been replaced since — retry, or reconcile the Application`);
  if (f.kind === "tooLarge") return new CliError(`the rendered artifact of ${ref} at ${err.url} is over the ${f.limit}-byte limit`);
  const why = f.kind === "status" ? `HTTP ${f.status} ${f.statusText}` : causeText(f.cause);
  return new CliError(
    `cannot download the rendered artifact of ${ref} from ${err.url}: ${why}; the URL is the render controller's in-cluster address — run the CLI where it resolves, or port-forward the artifact service`,
    Exit.error,
    { cause: "cause" in f ? f.cause : err },
  );
}

/** Downloads the rendered objects and checks their digest (the contract with the render controller). */
export async function fetchRendered(app: App, timeoutMs: number): Promise<KubeObject[]> {
  const a = app.status?.render?.artifact;
  const ref = `Application ${app.metadata?.namespace}/${app.metadata?.name}`;
  if (!a?.url || !a.digest) throw new CliError(`${ref} has no rendered artifact yet (status.render.artifact is empty); wait for the render controller, then retry`);
  let bytes: Buffer;
  try {
    ({ bytes } = await download(a.url, { digest: a.digest, maxBytes: MAX_RENDERED_BYTES, timeoutMs }));
  } catch (err) {
    if (err instanceof DownloadError) throw downloadProblem(ref, a.digest, err);
    throw err;
  }
  let objects: unknown;
  try {
    objects = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    // V8's message quotes the text around the error, which may be a Secret's value: give the position only.
    const at = /at position \d+/.exec((err as Error).message)?.[0];
    throw new CliError(`the rendered artifact of ${ref} is not valid JSON${at ? ` (${at})` : ""}; reconcile the Application to render it again`, Exit.error, { cause: err });
  }
  if (!Array.isArray(objects)) throw new CliError(`the rendered artifact of ${ref} is not a JSON array of objects`);
  return objects as KubeObject[];
}

/** The policy the apply controller would sync with (all defaults without a syncPolicyRef). */
async function policyOf(client: Client, app: App): Promise<EffectivePolicy> {
  const ref = app.spec.syncPolicyRef?.name;
  if (!ref) return effectivePolicy(app);
  const p = await client.get<SyncPolicy & KubeObject>(SyncPolicyKind, ref, app.metadata?.namespace);
  if (!p) throw new CliError(`SyncPolicy ${app.metadata?.namespace}/${ref} (the Application's syncPolicyRef) not found: the controller does not sync without it`);
  return effectivePolicy(app, p);
}

/** The field managers named in a 409 apply conflict, for the note. */
function conflictText(err: unknown): string {
  const causes = ((err as ApiError).status?.details as { causes?: { field?: string; message?: string }[] } | undefined)?.causes ?? [];
  return causes.map((c) => c.message ?? c.field).filter(Boolean).join("; ") || (err as Error).message;
}

type DryRun = (body: KubeObject, force: boolean) => Promise<KubeObject>;

/** Server-side dry-run applies as `identity`; a refused impersonation is a CliError naming the permission it needs. */
function dryRunner(client: Client, app: App, identity: DiffIdentity, namespace: string): DryRun {
  const writer = identity.user ? client.impersonate(identity.user) : client;
  return async (body, force) => {
    try {
      return await writer.apply(body, { dryRun: true, fieldManager: FieldManagers.apply, force });
    } catch (err) {
      if (!identity.user || !impersonationRefused(err)) throw err;
      const sa = identity.user.split(":").pop();
      throw new CliError(
        `cannot dry-run as ${identity.user} (${identity.source}): ${describeError(err)}; the diff needs the impersonate verb on serviceaccounts "${sa}" in namespace ${namespace} (docs/tenancy.md)` +
          (app.spec.serviceAccountName ? "" : ", or pass --default-service-account with the ServiceAccount the operator really uses"),
        Exit.error,
        { cause: err },
      );
    }
  };
}

/** Masks Secret values in each before/after pair (unless reveal), remembering every value met for clean(). */
function secretMasker(rendered: readonly KubeObject[], reveal: boolean) {
  // Every Secret value met (rendered, live or dry-run), to keep them out of error messages and notes too.
  const secretValues = new Set<string>(rendered.flatMap(secretValuesOf));
  return {
    masked(before: KubeObject | undefined, after: KubeObject | undefined): [KubeObject | undefined, KubeObject | undefined] {
      for (const x of [before, after]) for (const v of secretValuesOf(x)) secretValues.add(v);
      return reveal ? [before, after] : maskSecretPair(before, after);
    },
    clean: (t: string) => redactSecretValues(t, secretValues),
  };
}

interface Placed {
  /** The rendered objects with the namespace the applier gives them, sorted by id. */
  items: { id: string; obj: KubeObject }[];
  ids: Set<string>;
  /** Objects whose id cannot be known (an unreadable kind): reported, not compared. */
  errors: ObjectDiff[];
}

/** As the applier does: namespaced objects default to the target namespace; cluster-scoped ones have none. */
async function placeRendered(client: Client, rendered: readonly KubeObject[], defaultNs: string): Promise<Placed> {
  const placed: Placed = { items: [], ids: new Set(), errors: [] };
  for (const raw of rendered) {
    const obj = structuredClone(raw);
    let id: string;
    try {
      const kind = await client.kindOf(obj).catch((err: unknown) => (err instanceof NoKindMatchError ? undefined : Promise.reject(err)));
      if (kind?.namespaced && !obj.metadata?.namespace) obj.metadata = { ...obj.metadata, namespace: defaultNs };
      if (kind && !kind.namespaced && obj.metadata?.namespace !== undefined) {
        const { namespace: _ns, ...meta } = obj.metadata;
        obj.metadata = meta;
      }
      id = idOf(refOf(obj));
    } catch (err) {
      placed.errors.push({ id: `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`, change: "error", message: describeError(err) });
      continue;
    }
    placed.ids.add(id);
    placed.items.push({ id, obj });
  }
  placed.items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return placed;
}

/** Namespaces the sync would create: objects in them cannot be dry-run yet, and are shown as created. */
async function namespacesCreated(client: Client, app: App, policy: EffectivePolicy, items: Placed["items"]): Promise<Set<string>> {
  const created = new Set<string>();
  if (policy.createNamespace && app.spec.targetNamespace && !(await client.get({ apiVersion: "v1", kind: "Namespace" }, app.spec.targetNamespace))) {
    created.add(app.spec.targetNamespace);
  }
  for (const { obj } of items) {
    if (obj.kind === "Namespace" && (obj.apiVersion ?? "") === "v1" && obj.metadata?.name) {
      const live = await client.get({ apiVersion: "v1", kind: "Namespace" }, obj.metadata.name);
      if (!live) created.add(obj.metadata.name);
    }
  }
  return created;
}

/** What one comparison needs, the same for every object of the Application. */
interface Comparison {
  client: Client;
  app: App;
  policy: EffectivePolicy;
  owner: string;
  newNamespaces: Set<string>;
  dryRun: DryRun;
  masked: ReturnType<typeof secretMasker>["masked"];
  context: number | undefined;
}

/** The live object, or kindKnown false for a custom resource whose CRD this same sync would install. */
async function readLive(client: Client, obj: KubeObject): Promise<{ live: KubeObject | undefined; kindKnown: boolean }> {
  try {
    return { live: await client.get(obj, obj.metadata!.name!, obj.metadata?.namespace), kindKnown: true };
  } catch (err) {
    if (!(err instanceof NoKindMatchError)) throw err;
    return { live: undefined, kindKnown: false };
  }
}

/** The object a sync would leave: the dry-run result, or the rendered object where no dry run is possible yet. */
async function afterSync(c: Comparison, obj: KubeObject, body: KubeObject, kindKnown: boolean): Promise<{ after: KubeObject; note?: string }> {
  if (!kindKnown || (obj.metadata?.namespace && c.newNamespaces.has(obj.metadata.namespace))) {
    const note = kindKnown ? `its namespace ${obj.metadata?.namespace} is created by this sync: not dry-run` : `kind ${obj.kind} is not served yet (its CRD is in this sync): not dry-run`;
    return { after: obj, note };
  }
  try {
    return { after: await c.dryRun(body, c.policy.force) };
  } catch (err) {
    if (!isConflict(err) || c.policy.force) throw err;
    // Show what would change, and that the sync itself stops at the conflict.
    const after = await c.dryRun(body, true);
    return { after, note: `apply conflict (${conflictText(err)}): the sync fails here unless the SyncPolicy sets options.force` };
  }
}

/** One rendered object against the cluster; a CliError (the identity cannot be used at all) is thrown, not reported. */
async function diffObject(c: Comparison, id: string, obj: KubeObject): Promise<ObjectDiff> {
  try {
    const ignore = ignoredPointers(c.app, obj);
    const strip = (x: KubeObject | undefined) => {
      if (x) for (const p of ignore) removePointer(x, p);
      return x;
    };
    const { live, kindKnown } = await readLive(c.client, obj);
    const claimedBy = otherOwner(live as { metadata?: { labels?: Record<string, string> } } | undefined, c.owner);
    if (claimedBy) return { id, change: "error", message: `managed by Application ${claimedBy}: the sync leaves it untouched and reports it` };
    // Ignored fields are left out of the apply too, so another controller's value (an autoscaler's replicas) stays.
    const body = strip(structuredClone(obj))!;
    const { after, note } = await afterSync(c, obj, body, kindKnown);
    const [before, next] = c.masked(strip(normalize(live)), strip(normalize(after, !live)));
    const patch = yamlPatch(id, before, next, c.context);
    if (!patch) return { id, change: "unchanged" };
    return { id, change: live ? "changed" : "created", patch, ...(note ? { note } : {}) };
  } catch (err) {
    if (err instanceof CliError) throw err; // the identity cannot be used at all: no object can be compared
    return { id, change: "error", message: describeError(err) };
  }
}

/** The inventory entries the render no longer has and that still exist: deletions, when the policy prunes. */
async function prunedDiffs(c: Comparison, renderedIds: ReadonlySet<string>): Promise<ObjectDiff[]> {
  const stale = (c.app.status?.sync?.inventory ?? []).filter((e: InventoryEntry) => !renderedIds.has(e.id));
  const diffs: ObjectDiff[] = [];
  if (!stale.length || !c.policy.prune) return diffs;
  for (const e of stale) {
    try {
      const ref = refOfEntry(e);
      const live = await c.client.get({ apiVersion: ref.apiVersion, kind: ref.kind }, ref.name, ref.namespace || undefined).catch((err: unknown) => {
        if (isNotFound(err) || err instanceof NoKindMatchError) return undefined;
        throw err;
      });
      if (!live) continue;
      diffs.push({ id: e.id, change: "pruned", patch: yamlPatch(e.id, c.masked(normalize(live), undefined)[0], undefined, c.context), note: "no longer rendered: the sync deletes it" });
    } catch (err) {
      diffs.push({ id: e.id, change: "error", message: describeError(err) });
    }
  }
  return diffs;
}

/**
 * Compares every rendered object (and every prune candidate) with the cluster. Reads are made with the caller's
 * credentials (the controller reads with its own); the dry-run applies as the Application's identity.
 */
export async function diffApplication(client: Client, o: DiffOptions): Promise<{ app: App; diffs: ObjectDiff[]; identity: DiffIdentity }> {
  const app = await client.get<App>(ApplicationKind, o.name, o.namespace);
  if (!app) throw new CliError(`Application ${o.namespace}/${o.name} not found`);
  const identity = diffIdentity(app, o.defaultServiceAccount);
  const dryRun = dryRunner(client, app, identity, o.namespace);
  const rendered = await fetchRendered(app, o.downloadTimeoutMs ?? 30_000);
  const reveal = o.showSecrets ?? false;
  const secrets = secretMasker(rendered, reveal);
  const policy = await policyOf(client, app);
  const placed = await placeRendered(client, rendered, app.spec.targetNamespace ?? o.namespace);
  const newNamespaces = await namespacesCreated(client, app, policy, placed.items);
  const c: Comparison = { client, app, policy, owner: applicationLabelValue(app), newNamespaces, dryRun, masked: secrets.masked, context: o.context };

  const diffs: ObjectDiff[] = [...placed.errors];
  for (const { id, obj } of placed.items) diffs.push(await diffObject(c, id, obj));
  diffs.push(...(await prunedDiffs(c, placed.ids)));
  if (reveal) return { app, diffs, identity };
  // The API server's messages can quote a field's value (an invalid value, a conflict): never a Secret's.
  const clean = secrets.clean;
  return { app, identity, diffs: diffs.map((d) => (d.change === "error" ? { ...d, message: clean(d.message) } : "note" in d && d.note ? { ...d, note: clean(d.note) } : d)) };
}

/** Prints the diffs and returns 0 (no difference), 1 (differences) or 2 (some object could not be compared). */
export function printDiffs(diffs: readonly ObjectDiff[], io: Io, json = false): ExitCode {
  const counts = { created: 0, changed: 0, pruned: 0, unchanged: 0, error: 0 };
  // -o json: every object's change (and patch, Secret values masked as in the text) in one document on stdout.
  if (json) io.out(JSON.stringify(diffs, null, 2));
  for (const d of diffs) {
    counts[d.change]++;
    if (json) continue;
    if (d.change === "error") io.err(`mooring: ${d.id}: ${d.message}`);
    else if (d.change !== "unchanged") {
      const header = `# ${d.id}: ${d.change}${d.note ? ` (${d.note})` : ""}`;
      io.out(paint(io.color, "yellow", header) + "\n" + colourDiff(d.patch, io.color));
    }
  }
  const differ = counts.created + counts.changed + counts.pruned;
  io.err(
    `${differ} object${differ === 1 ? "" : "s"} differ (${counts.created} created, ${counts.changed} changed, ${counts.pruned} pruned), ${counts.unchanged} unchanged` +
      (counts.error ? `, ${counts.error} could not be compared` : ""),
  );
  if (counts.error) return Exit.error;
  return differ ? Exit.negative : Exit.ok;
}

// Fixtures for the API tests, shared by the unit tests (in-process validator) and the integration tests
// (the API server with the generated CRDs): the same invalid objects must be rejected by both, naming the
// same field. Each case starts from a minimal valid object and breaks one thing.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "./cluster.js";

type Obj = Record<string, any>;

export function minimalGitRepository(name = "repo"): Obj {
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name }, spec: { url: "https://git.example.com/org/repo.git" } };
}

export function minimalApplication(name = "app"): Obj {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name }, spec: { sourceRef: { kind: "GitRepository", name: "repo" } } };
}

export function minimalHelmRepository(name = "charts"): Obj {
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "HelmRepository", metadata: { name }, spec: { url: "https://charts.example.com" } };
}

export function minimalHelmChart(name = "chart"): Obj {
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "HelmChart", metadata: { name }, spec: { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "podinfo" } };
}

export function minimalSyncPolicy(name = "policy"): Obj {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy", metadata: { name }, spec: {} };
}

export function minimalProvider(name = "chat"): Obj {
  return { apiVersion: "notification.mooring.dev/v1alpha1", kind: "Provider", metadata: { name }, spec: { type: "generic", address: "https://hooks.example.com/mooring" } };
}

export function minimalAlert(name = "alert"): Obj {
  return { apiVersion: "notification.mooring.dev/v1alpha1", kind: "Alert", metadata: { name }, spec: { providerRef: { name: "chat" }, eventSources: [{ kind: "Application", name: "*" }] } };
}

const NOW = "2026-01-02T15:04:05Z";
const SHA = "0123456789abcdef0123456789abcdef01234567";

export interface InvalidCase {
  name: string;
  /** The object to create; for `subresource: "status"` cases, the object whose status is then written. */
  object: Obj;
  /** The field both validators must name (as the API server does: spec.dependsOn[0].name). */
  field: string;
  /** Words the in-process message must contain (the readable part, beyond the field). */
  says?: string;
  /** Status cases: the object is created valid, then this status is written through the status subresource. */
  subresource?: "status";
}

function gitRepo(mutate: (spec: Obj, obj: Obj) => void): Obj {
  const o = minimalGitRepository();
  mutate(o.spec, o);
  return o;
}
function app(mutate: (spec: Obj, obj: Obj) => void): Obj {
  const o = minimalApplication();
  mutate(o.spec, o);
  return o;
}
function policy(mutate: (spec: Obj) => void): Obj {
  const o = minimalSyncPolicy();
  mutate(o.spec);
  return o;
}

export const INVALID_CASES: InvalidCase[] = [
  // GitRepository
  { name: "GitRepository without url", object: gitRepo((s) => delete s.url), field: "spec.url" },
  { name: "ssh:// url", object: gitRepo((s) => (s.url = "ssh://git@github.com/org/repo.git")), field: "spec.url", says: "supported schemes are https and http" },
  { name: "scp-like url", object: gitRepo((s) => (s.url = "git@github.com:org/repo.git")), field: "spec.url", says: "supported schemes" },
  { name: "git:// url", object: gitRepo((s) => (s.url = "git://github.com/org/repo.git")), field: "spec.url", says: "supported schemes" },
  { name: "credentials in url", object: gitRepo((s) => (s.url = "https://user:secret@github.com/org/repo.git")), field: "spec.url", says: "secretRef" },
  { name: "ref with branch and tag", object: gitRepo((s) => (s.ref = { branch: "main", tag: "v1.0.0" })), field: "spec.ref", says: "exactly one" },
  { name: "empty ref", object: gitRepo((s) => (s.ref = {})), field: "spec.ref", says: "exactly one" },
  { name: "short commit SHA", object: gitRepo((s) => (s.ref = { commit: "0123abc" })), field: "spec.ref.commit", says: "40" },
  { name: "ref.name not under refs/", object: gitRepo((s) => (s.ref = { name: "pull/1/head" })), field: "spec.ref.name", says: "refs/" },
  { name: "interval below 10s", object: gitRepo((s) => (s.interval = "5s")), field: "spec.interval", says: "at least 10s" },
  { name: "interval in words", object: gitRepo((s) => (s.interval = "1 minute")), field: "spec.interval", says: "duration" },
  { name: "timeout above 1h", object: gitRepo((s) => (s.timeout = "2h")), field: "spec.timeout", says: "at most 1h" },
  { name: "secretRef without name", object: gitRepo((s) => (s.secretRef = {})), field: "spec.secretRef.name", says: "required" },
  { name: "secretRef name with capitals", object: gitRepo((s) => (s.secretRef = { name: "Git_Credentials" })), field: "spec.secretRef.name", says: "DNS-1123" },
  { name: "unknown field (branch at spec level)", object: gitRepo((s) => (s.branch = "main")), field: "spec.branch", says: "unknown field" },
  { name: "suspend as a string", object: gitRepo((s) => (s.suspend = "yes")), field: "spec.suspend", says: "boolean" },
  { name: "object name with capitals", object: gitRepo((_, o) => (o.metadata.name = "My_Repo")), field: "metadata.name", says: "DNS-1123" },
  // Application
  { name: "Application without sourceRef", object: app((s) => delete s.sourceRef), field: "spec.sourceRef", says: "required" },
  { name: "sourceRef of an unknown kind", object: app((s) => (s.sourceRef.kind = "HelmRepository")), field: "spec.sourceRef.kind", says: "GitRepository" },
  { name: "render type jsonnet", object: app((s) => (s.render = { type: "jsonnet" })), field: "spec.render.type", says: "kustomize" },
  { name: "helm options with render type kustomize", object: app((s) => (s.render = { type: "kustomize", helm: { releaseName: "x" } })), field: "spec.render", says: "render.helm" },
  { name: "kustomize options with render type plain", object: app((s) => (s.render = { type: "plain", kustomize: { namePrefix: "x-" } })), field: "spec.render", says: "render.kustomize" },
  {
    name: "valuesFrom of a Deployment",
    object: app((s) => (s.render = { helm: { valuesFrom: [{ kind: "Deployment", name: "values" }] } })),
    field: "spec.render.helm.valuesFrom[0].kind",
    says: "ConfigMap",
  },
  { name: "helm releaseName over 53 characters", object: app((s) => (s.render = { helm: { releaseName: "r".repeat(54) } })), field: "spec.render.helm.releaseName", says: "53" },
  { name: "path escaping the source", object: app((s) => (s.path = "./apps/../../etc")), field: "spec.path", says: "'..'" },
  { name: "image override that changes nothing", object: app((s) => (s.render = { kustomize: { images: [{ name: "nginx" }] } })), field: "spec.render.kustomize.images[0]", says: "newName, newTag or digest" },
  { name: "substitute key that is not a variable name", object: app((s) => (s.render = { substitute: { "cluster-name": "dev" } })), field: "spec.render.substitute", says: "variable names" },
  { name: "targetNamespace with capitals", object: app((s) => (s.targetNamespace = "Prod_NS")), field: "spec.targetNamespace", says: "DNS-1123" },
  { name: "Application interval 0s", object: app((s) => (s.interval = "0s")), field: "spec.interval", says: "at least 10s" },
  { name: "dependsOn entry without name", object: app((s) => (s.dependsOn = [{ namespace: "infra" }])), field: "spec.dependsOn[0].name", says: "required" },
  { name: "healthCheck without kind", object: app((s) => (s.healthChecks = [{ apiVersion: "apps/v1", name: "web" }])), field: "spec.healthChecks[0].kind", says: "required" },
  {
    name: "ignoreDifferences pointer without leading slash",
    object: app((s) => (s.ignoreDifferences = [{ kind: "Deployment", jsonPointers: ["spec/replicas"] }])),
    field: "spec.ignoreDifferences[0].jsonPointers[0]",
    says: "JSON pointer",
  },
  // SyncPolicy
  {
    name: "backoff maxDuration below duration",
    object: policy((s) => (s.retry = { backoff: { duration: "1m", maxDuration: "30s" } })),
    field: "spec.retry.backoff.maxDuration",
    says: "at least duration",
  },
  {
    // The rule sees the defaulted object (duration: 5s), on the server and in process alike.
    name: "backoff maxDuration below the default duration",
    object: policy((s) => (s.retry = { backoff: { maxDuration: "4s" } })),
    field: "spec.retry.backoff.maxDuration",
    says: "at least duration",
  },
  { name: "negative retry limit", object: policy((s) => (s.retry = { limit: -1 })), field: "spec.retry.limit", says: "at least 0" },
  { name: "backoff factor 0", object: policy((s) => (s.retry = { backoff: { factor: 0 } })), field: "spec.retry.backoff.factor", says: "at least 1" },
  { name: "window of an unknown kind", object: policy((s) => (s.windows = [{ kind: "maybe", schedule: "@daily", duration: "1h" }])), field: "spec.windows[0].kind", says: "allow" },
  { name: "window schedule in words", object: policy((s) => (s.windows = [{ kind: "allow", schedule: "every day", duration: "1h" }])), field: "spec.windows[0].schedule", says: "cron" },
  { name: "window without schedule", object: policy((s) => (s.windows = [{ kind: "deny", duration: "1h" }])), field: "spec.windows[0].schedule", says: "required" },
  { name: "window shorter than a minute", object: policy((s) => (s.windows = [{ kind: "deny", schedule: "@daily", duration: "30s" }])), field: "spec.windows[0].duration", says: "at least 1m" },
  {
    name: "prune propagation policy cascade",
    object: policy((s) => (s.options = { prunePropagationPolicy: "cascade" })),
    field: "spec.options.prunePropagationPolicy",
    says: "background",
  },
  // Status, written through the status subresource
  {
    name: "artifact revision without sha1",
    object: gitRepo((_, o) => (o.status = { artifact: { url: "http://x/a.tar.gz", revision: "main@abc", digest: `sha256:${"a".repeat(64)}`, lastUpdateTime: NOW } })),
    field: "status.artifact.revision",
    says: "sha1",
    subresource: "status",
  },
  {
    name: "condition status Yes",
    object: app((_, o) => (o.status = { conditions: [{ type: "Ready", status: "Yes", reason: "Succeeded", message: "", lastTransitionTime: NOW }] })),
    field: "status.conditions[0].status",
    says: "True",
    subresource: "status",
  },
  {
    name: "sync status Maybe",
    object: app((_, o) => (o.status = { sync: { status: "Maybe", revision: `main@sha1:${SHA}` } })),
    field: "status.sync.status",
    says: "OutOfSync",
    subresource: "status",
  },
];

/** Every document in examples/*.yaml (not subfolders), with the file it came from. */
export function loadExamples(): { file: string; object: Obj }[] {
  const dir = path.join(REPO_ROOT, "examples");
  const out: { file: string; object: Obj }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), "utf8"))) {
      if (doc.errors.length) throw new Error(`examples/${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const object = doc.toJS() as Obj | null;
      if (object) out.push({ file: `examples/${file}`, object });
    }
  }
  return out;
}

/** A status that exercises every field of each kind's status, as the controllers will write it. */
export function fullStatus(kind: string, generation: number): Obj {
  const ready = (extra: Obj[] = []) => [
    { type: "Ready", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "Succeeded", message: "all good" },
    ...extra,
  ];
  const digest = `sha256:${"b".repeat(64)}`;
  switch (kind) {
    case "GitRepository":
      return {
        observedGeneration: generation,
        conditions: ready([{ type: "ArtifactInStorage", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "ArtifactStored", message: "stored" }]),
        artifact: { url: "http://mooring-source.mooring-system/gitrepository/ns/repo/sha.tar.gz", revision: `main@sha1:${SHA}`, digest, size: 1234, lastUpdateTime: NOW },
        lastHandledReconcileAt: "2026-01-02T15:00:00Z",
      };
    case "Application":
      return {
        observedGeneration: generation,
        conditions: ready([
          { type: "Synced", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "Succeeded", message: "applied 2 objects" },
          { type: "Healthy", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "Succeeded", message: "healthy" },
        ]),
        source: { revision: `main@sha1:${SHA}`, digest },
        render: { artifact: { url: "http://mooring-render/x.yaml.gz", digest, revision: `main@sha1:${SHA}`, size: 99 }, objects: 2, lastRenderedAt: NOW },
        sync: {
          status: "Synced",
          revision: `main@sha1:${SHA}`,
          lastAppliedAt: NOW,
          inventory: [
            { id: "demo_web_apps_Deployment", v: "v1" },
            { id: "_demo__Namespace", v: "v1" },
          ],
          drifted: [],
        },
        health: { status: "Healthy", message: "" },
        history: [{ revision: `main@sha1:${SHA}`, digest, startedAt: NOW, finishedAt: NOW, phase: "Succeeded", message: "ok", initiatedBy: "auto" }],
        lastHandledReconcileAt: "2026-01-02T15:00:00Z",
      };
    case "SyncPolicy":
      return {
        observedGeneration: generation,
        conditions: ready([{ type: "WindowOpen", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "NoWindows", message: "no windows" }]),
        applications: 3,
        nextWindowChange: NOW,
      };
    case "HelmRepository":
      return {
        observedGeneration: generation,
        conditions: ready([]),
        index: { digest, charts: 3, lastUpdateTime: NOW },
        lastHandledReconcileAt: "2026-01-02T15:00:00Z",
      };
    case "HelmChart":
      return {
        observedGeneration: generation,
        conditions: ready([{ type: "ArtifactInStorage", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "Succeeded", message: "stored" }]),
        artifact: { url: "http://mooring-source.mooring-system/helmchart/ns/chart/x.tgz", revision: "6.5.4", digest, size: 1234, lastUpdateTime: NOW },
        chartName: "podinfo",
        lastHandledReconcileAt: "2026-01-02T15:00:00Z",
      };
    case "Provider":
    case "Alert":
      return {
        observedGeneration: generation,
        conditions: ready([{ type: "Delivered", status: "True", observedGeneration: generation, lastTransitionTime: NOW, reason: "Succeeded", message: "delivered" }]),
        lastDelivery: { event: "Synced", object: "Application/ns/app", revision: `main@sha1:${SHA}`, at: NOW, result: "Succeeded", attempts: 1 },
      };
    default:
      throw new Error(`no status fixture for kind ${kind}`);
  }
}

// Health assessment of applied objects, following kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) and Argo CD's
// built-in checks: a kind-specific check for the built-in kinds, otherwise the generic rules (observedGeneration,
// Stalled/Ready conditions). An object with nothing to wait for (a ConfigMap) is Healthy as soon as it exists.
// A custom health rule (CEL, ./health-cel.ts) for the object's apiVersion and kind replaces its built-in check.
import type { Application, HealthStatus } from "../api/application.js";
import { parseApiVersion } from "../runtime/kinds.js";
import { type HealthRules, evaluateRule } from "./health-cel.js";

export interface Health {
  status: HealthStatus;
  /** Why, for anything but Healthy. */
  message?: string;
}

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: string };
  spec?: any;
  status?: any;
};

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

const healthy: Health = { status: "Healthy" };
const progressing = (message: string): Health => ({ status: "Progressing", message });
const degraded = (message: string): Health => ({ status: "Degraded", message });

function cond(o: Obj, type: string): Cond | undefined {
  const list = o.status?.conditions;
  return Array.isArray(list) ? (list as Cond[]).find((c) => c?.type === type) : undefined;
}

function why(c: Cond | undefined): string {
  if (!c) return "";
  return [c.reason, c.message].filter(Boolean).join(": ");
}

function num(v: unknown, dflt = 0): number {
  return typeof v === "number" && Number.isFinite(v) ? v : dflt;
}

/** observedGeneration behind generation: the controller has not looked at the latest spec yet. */
function generationPending(o: Obj): Health | undefined {
  const gen = o.metadata?.generation;
  const observed = o.status?.observedGeneration;
  if (typeof gen === "number" && typeof observed === "number" && observed < gen) return progressing(`observed generation ${observed} of ${gen}`);
  return undefined;
}

/** A workload its controller has not caught up with: the latest spec not observed, or no status at all yet. */
function rolloutNotObserved(o: Obj, kind: string): Health | undefined {
  const pending = generationPending(o);
  if (pending) return pending;
  if (!o.status || o.status.observedGeneration === undefined) return progressing(`the ${kind} controller has not reported status yet`);
  return undefined;
}

function deployment(o: Obj): Health {
  const notObserved = rolloutNotObserved(o, "Deployment");
  if (notObserved) return notObserved;
  const prog = cond(o, "Progressing");
  if (prog?.status === "False" && prog.reason === "ProgressDeadlineExceeded") return degraded(`rollout exceeded its progress deadline: ${prog.message ?? ""}`.trim());
  if (o.spec?.paused) return { status: "Suspended", message: "the Deployment is paused" };
  const want = num(o.spec?.replicas, 1);
  const s = o.status;
  if (num(s.updatedReplicas) < want) return progressing(`${num(s.updatedReplicas)} of ${want} replicas updated`);
  if (num(s.replicas) > num(s.updatedReplicas)) return progressing(`${num(s.replicas) - num(s.updatedReplicas)} old replicas pending termination`);
  if (num(s.availableReplicas) < num(s.updatedReplicas)) return progressing(`${num(s.availableReplicas)} of ${num(s.updatedReplicas)} updated replicas available`);
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} replicas ready`);
  const rf = cond(o, "ReplicaFailure");
  if (rf?.status === "True") return degraded(`replica failure: ${why(rf)}`);
  return healthy;
}

function statefulSet(o: Obj): Health {
  const notObserved = rolloutNotObserved(o, "StatefulSet");
  if (notObserved) return notObserved;
  const want = num(o.spec?.replicas, 1);
  const s = o.status;
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} replicas ready`);
  if (o.spec?.updateStrategy?.type === "OnDelete") return healthy;
  const partition = num(o.spec?.updateStrategy?.rollingUpdate?.partition);
  if (partition > 0) {
    const expected = want - partition;
    if (num(s.updatedReplicas) < expected) return progressing(`${num(s.updatedReplicas)} of ${expected} partitioned replicas updated`);
    return healthy;
  }
  if (num(s.updatedReplicas) < want) return progressing(`${num(s.updatedReplicas)} of ${want} replicas updated`);
  if (s.updateRevision && s.currentRevision !== s.updateRevision) return progressing(`rolling update to revision ${s.updateRevision} in progress`);
  if (num(s.availableReplicas, want) < want) return progressing(`${num(s.availableReplicas)} of ${want} replicas available`);
  return healthy;
}

function daemonSet(o: Obj): Health {
  const notObserved = rolloutNotObserved(o, "DaemonSet");
  if (notObserved) return notObserved;
  const s = o.status;
  const want = num(s.desiredNumberScheduled);
  if (o.spec?.updateStrategy?.type === "OnDelete") return healthy;
  if (num(s.updatedNumberScheduled) < want) return progressing(`${num(s.updatedNumberScheduled)} of ${want} pods updated`);
  if (num(s.numberAvailable) < want) return progressing(`${num(s.numberAvailable)} of ${want} pods available`);
  if (num(s.numberReady) < want) return progressing(`${num(s.numberReady)} of ${want} pods ready`);
  return healthy;
}

function replicaSet(o: Obj): Health {
  const pending = generationPending(o);
  if (pending) return pending;
  const rf = cond(o, "ReplicaFailure");
  if (rf?.status === "True") return degraded(`replica failure: ${why(rf)}`);
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} replicas ready`);
  if (num(s.availableReplicas) < want) return progressing(`${num(s.availableReplicas)} of ${want} replicas available`);
  return healthy;
}

const BAD_WAITING = new Set(["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"]);

function pod(o: Obj): Health {
  const s = o.status ?? {};
  if (s.phase === "Succeeded") return healthy;
  if (s.phase === "Failed") return degraded(`pod failed${s.reason ? `: ${s.reason}` : ""}${s.message ? `: ${s.message}` : ""}`);
  for (const cs of [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])] as { name: string; state?: { waiting?: { reason?: string; message?: string } } }[]) {
    const w = cs.state?.waiting;
    if (w?.reason && BAD_WAITING.has(w.reason)) return degraded(`container ${cs.name} is waiting: ${w.reason}${w.message ? `: ${w.message}` : ""}`);
  }
  const sched = cond(o, "PodScheduled");
  if (sched?.status === "False") return progressing(`not scheduled: ${why(sched)}`);
  const ready = cond(o, "Ready");
  if (ready?.status === "True") return healthy;
  if (o.spec?.restartPolicy && o.spec.restartPolicy !== "Always" && s.phase === "Running") return progressing("pod is running");
  return progressing(`pod is ${s.phase ?? "Pending"}${ready ? `, not ready: ${why(ready)}` : ""}`);
}

function job(o: Obj): Health {
  const failed = cond(o, "Failed");
  if (failed?.status === "True") return degraded(`job failed: ${why(failed)}`);
  const complete = cond(o, "Complete");
  if (complete?.status === "True") return healthy;
  if (o.spec?.suspend) return { status: "Suspended", message: "the Job is suspended" };
  const s = o.status ?? {};
  return progressing(`job running: ${num(s.succeeded)} succeeded, ${num(s.active)} active, ${num(s.failed)} failed`);
}

function cronJob(o: Obj): Health {
  if (o.spec?.suspend) return { status: "Suspended", message: "the CronJob is suspended" };
  return healthy;
}

function pvc(o: Obj): Health {
  const phase = o.status?.phase;
  if (phase === "Bound") return healthy;
  if (phase === "Lost") return degraded("the claim lost its volume");
  return progressing(`claim is ${phase ?? "Pending"}`);
}

function hasLbIngress(o: Obj): boolean {
  const ing = o.status?.loadBalancer?.ingress;
  return Array.isArray(ing) && ing.length > 0;
}

function service(o: Obj): Health {
  if (o.spec?.type === "LoadBalancer" && !hasLbIngress(o)) return progressing("waiting for the load balancer's address");
  return healthy;
}

function ingress(o: Obj): Health {
  return hasLbIngress(o) ? healthy : progressing("waiting for the ingress controller to publish an address");
}

function namespace(o: Obj): Health {
  if (o.status?.phase === "Terminating") return progressing("namespace is terminating");
  return healthy;
}

function crd(o: Obj): Health {
  const names = cond(o, "NamesAccepted");
  if (names?.status === "False") return degraded(`names not accepted: ${why(names)}`);
  const est = cond(o, "Established");
  if (est?.status === "True") return healthy;
  return progressing(`not established yet${est ? `: ${why(est)}` : ""}`);
}

function apiService(o: Obj): Health {
  const av = cond(o, "Available");
  if (av?.status === "True") return healthy;
  return progressing(`not available${av ? `: ${why(av)}` : ""}`);
}

/** kstatus's generic rules: observedGeneration, then Reconciling/Stalled, then Ready when the object reports one. */
function generic(o: Obj): Health {
  const pending = generationPending(o);
  if (pending) return pending;
  const stalled = cond(o, "Stalled");
  if (stalled?.status === "True") return degraded(`stalled: ${why(stalled)}`);
  const reconciling = cond(o, "Reconciling");
  if (reconciling?.status === "True") return progressing(`reconciling: ${why(reconciling)}`);
  const ready = cond(o, "Ready");
  if (ready?.status === "False") return progressing(`not ready: ${why(ready)}`);
  if (ready?.status === "Unknown") return progressing(`readiness unknown: ${why(ready)}`);
  return healthy;
}

const CHECKS: Record<string, (o: Obj) => Health> = {
  "apps/Deployment": deployment,
  "apps/StatefulSet": statefulSet,
  "apps/DaemonSet": daemonSet,
  "apps/ReplicaSet": replicaSet,
  "/Pod": pod,
  "batch/Job": job,
  "batch/CronJob": cronJob,
  "/PersistentVolumeClaim": pvc,
  "/Service": service,
  "networking.k8s.io/Ingress": ingress,
  "/Namespace": namespace,
  "apiextensions.k8s.io/CustomResourceDefinition": crd,
  "apiregistration.k8s.io/APIService": apiService,
};

/**
 * The health of one live object; `undefined` (not found) is Missing. With a rule for its apiVersion and kind in
 * `rules`, the rule decides, once the object's controller has observed its latest generation (as Flux does).
 */
export function assessHealth(obj: Obj | undefined, rules?: HealthRules): Health {
  if (!obj) return { status: "Missing", message: "not found in the cluster" };
  if (obj.metadata?.deletionTimestamp) return progressing("being deleted");
  const rule = rules?.get(obj.apiVersion, obj.kind);
  if (rule) return generationPending(obj) ?? evaluateRule(rule, obj as Record<string, unknown>);
  const group = parseApiVersion(obj.apiVersion ?? "").group;
  const check = CHECKS[`${group}/${obj.kind ?? ""}`] ?? generic;
  try {
    return check(obj);
  } catch (err) {
    return { status: "Unknown", message: `health check failed: ${(err as Error).message}` };
  }
}

/** Worse statuses rank higher: an Application is as healthy as its least healthy object. */
const RANK: Record<HealthStatus, number> = { Healthy: 0, Suspended: 1, Progressing: 2, Unknown: 3, Missing: 4, Degraded: 5 };

export function isWorse(a: HealthStatus, b: HealthStatus): boolean {
  return RANK[a] > RANK[b];
}

export interface NamedHealth extends Health {
  /** "Deployment web/api". */
  object: string;
}

/**
 * Worst of all objects (Healthy for none). The message names the first object (in the order given) with the
 * worst status, and how many others are not healthy.
 */
export function aggregateHealth(items: readonly NamedHealth[]): Health {
  let worst: NamedHealth | undefined;
  let unhealthy = 0;
  for (const i of items) {
    if (i.status !== "Healthy") unhealthy++;
    if (!worst || isWorse(i.status, worst.status)) worst = i;
  }
  if (!worst || worst.status === "Healthy") return healthy;
  const others = unhealthy - 1;
  const more = others > 0 ? ` (and ${others} other object${others === 1 ? "" : "s"} not healthy)` : "";
  return { status: worst.status, message: `${worst.object}: ${worst.message ?? worst.status}${more}` };
}

type HealthCheck = NonNullable<Application["spec"]["healthChecks"]>[number];

/** The namespace a spec.healthChecks entry names: its own, else spec.targetNamespace, else the Application's. */
export function healthCheckNamespace(app: Pick<Application, "metadata" | "spec">, hc: HealthCheck): string {
  return hc.namespace ?? app.spec.targetNamespace ?? app.metadata!.namespace!;
}

/**
 * Why spec.healthChecks[index] lies outside the namespaces an Application may look at (its own and its
 * targetNamespace), or undefined when it does not. Health checks are read with the operator's identity, so without
 * this a tenant could read the health (and messages) of any object in the cluster. `namespaced` is undefined when
 * the kind is not served: it is then judged by its namespace alone (and reported Missing later).
 */
export function healthCheckOutside(app: Pick<Application, "metadata" | "spec">, hc: HealthCheck, index: number, namespaced: boolean | undefined): string | undefined {
  const own = app.metadata!.namespace!;
  const allowed = new Set([own, app.spec.targetNamespace ?? own]);
  const what = `spec.healthChecks[${index}] (${hc.kind} ${hc.name})`;
  if (namespaced === false) return `${what} names a cluster-scoped object, outside the Application's namespace`;
  const ns = healthCheckNamespace(app, hc);
  if (!allowed.has(ns)) return `${what} names namespace ${ns}, outside the Application's namespace${app.spec.targetNamespace && app.spec.targetNamespace !== own ? ` and its targetNamespace` : ""}`;
  return undefined;
}

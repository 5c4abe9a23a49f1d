// Start-up checks that turn the two classic operator crashes into one clear, actionable log line and a wait:
// CRDs that are not installed (say which, wait for them) and RBAC the identity lacks (name the verb and resource).
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import type { KindDescriptor } from "./runtime/kinds.js";
import type { Logger } from "./log.js";

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

export function describePermission(p: Permission): string {
  const res = (p.group ? `${p.resource}.${p.group}` : p.resource) + (p.subresource ? `/${p.subresource}` : "");
  return `${p.verb} ${res}${p.namespace ? ` in namespace ${p.namespace}` : " (cluster-wide)"}`;
}

/** The CRDs (as `<plural>.<group>`) among `kinds` that the API server does not serve. */
export async function missingKinds(kc: k8s.KubeConfig, kinds: readonly KindDescriptor[]): Promise<string[]> {
  const apis = kc.makeApiClient(k8s.CustomObjectsApi);
  const missing: string[] = [];
  for (const k of kinds) {
    try {
      // A list with limit=1 is the cheapest "is this kind served" question that also works without discovery rights.
      await apis.listClusterCustomObject({ group: k.group, version: k.version, plural: k.plural, limit: 1 });
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) missing.push(`${k.plural}.${k.group}`);
      // 403 and others: served but perhaps not allowed; the permission check reports that.
    }
  }
  return missing;
}

/** Permissions the identity in `kc` lacks, asked of the API server's own authorizer (SelfSubjectAccessReview). */
export async function missingPermissions(kc: k8s.KubeConfig, wanted: readonly Permission[]): Promise<Permission[]> {
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const missing: Permission[] = [];
  for (const p of wanted) {
    const review = await authz.createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, namespace: p.namespace } } },
    });
    if (!review.status?.allowed) missing.push(p);
  }
  return missing;
}

/** Waits (logging once per change) until every kind is served; returns early when `signal` aborts. */
export async function waitForKinds(kc: k8s.KubeConfig, kinds: readonly KindDescriptor[], logger: Logger, signal: AbortSignal, pollMs = 5_000): Promise<void> {
  let reported = "";
  while (!signal.aborted) {
    const missing = await missingKinds(kc, kinds);
    if (missing.length === 0) return;
    const text = missing.join(", ");
    if (text !== reported) {
      logger.error(`CRDs not installed: ${text}; install them with 'kubectl apply -f crds/' (or start with --install-crds); waiting`, { missing });
      reported = text;
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}

/** Waits until the identity holds every permission, naming the missing ones; returns early when `signal` aborts. */
export async function waitForPermissions(kc: k8s.KubeConfig, wanted: readonly Permission[], logger: Logger, signal: AbortSignal, pollMs = 5_000): Promise<void> {
  let reported = "";
  while (!signal.aborted) {
    const missing = await missingPermissions(kc, wanted);
    if (missing.length === 0) return;
    const text = missing.map(describePermission).join("; ");
    if (text !== reported) {
      logger.error(`missing RBAC permission: ${text}; grant it to the operator's ServiceAccount (the Helm chart's ClusterRole does); waiting`, { missing: missing.map(describePermission) });
      reported = text;
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}

// Start-up checks that turn the two classic operator crashes into one clear, actionable log line and a wait:
// CRDs that are not installed (say which, wait for them) and RBAC the identity lacks (name the verb and resource).
import { setTimeout as sleep } from "node:timers/promises";
import { type Connection, withRest } from "./runtime/connect.js";
import type { KindDescriptor } from "./runtime/kinds.js";
import { isNotFound } from "./runtime/rest.js";
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
export async function missingKinds(conn: Connection, kinds: readonly KindDescriptor[]): Promise<string[]> {
  return await withRest(conn, async (rest) => {
    const missing: string[] = [];
    for (const k of kinds) {
      try {
        // A list with limit=1 is the cheapest "is this kind served" question that also works without discovery rights.
        await rest.request("GET", `/apis/${k.group}/${k.version}/${k.plural}`, { query: { limit: 1 } });
      } catch (err) {
        if (isNotFound(err)) missing.push(`${k.plural}.${k.group}`);
        // 403 and others: served but perhaps not allowed; the permission check reports that.
      }
    }
    return missing;
  });
}

/** Permissions the identity in `kc` lacks, asked of the API server's own authorizer (SelfSubjectAccessReview). */
export async function missingPermissions(conn: Connection, wanted: readonly Permission[]): Promise<Permission[]> {
  return await withRest(conn, async (rest) => {
    const missing: Permission[] = [];
    for (const p of wanted) {
      const review = await rest.request<{ status?: { allowed?: boolean } }>("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, subresource: p.subresource, namespace: p.namespace } },
        },
      });
      if (!review.status?.allowed) missing.push(p);
    }
    return missing;
  });
}

/** What one start-up wait polls for: what is still missing, how it reads, and how it is reported. */
interface Wanting<T> {
  missing: () => Promise<T[]>;
  describe: (missing: T[]) => string;
  /** Called with the description when it changed since the last report (so a long wait logs once per change). */
  report: (text: string, missing: T[]) => void;
}

/** Polls until nothing is missing, reporting each change; returns early when `signal` aborts. */
async function waitUntilNoneMissing<T>(w: Wanting<T>, signal: AbortSignal, pollMs: number): Promise<void> {
  let reported = "";
  while (!signal.aborted) {
    const missing = await w.missing();
    if (missing.length === 0) return;
    const text = w.describe(missing);
    if (text !== reported) {
      w.report(text, missing);
      reported = text;
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}

/** Waits (logging once per change) until every kind is served; returns early when `signal` aborts. */
export async function waitForKinds(conn: Connection, kinds: readonly KindDescriptor[], logger: Logger, signal: AbortSignal, pollMs = 5_000): Promise<void> {
  const wanting: Wanting<string> = {
    missing: () => missingKinds(conn, kinds),
    describe: (missing) => missing.join(", "),
    report: (text, missing) => logger.error(`CRDs not installed: ${text}; install them with 'kubectl apply -f crds/' (or start with --install-crds); waiting`, { missing }),
  };
  await waitUntilNoneMissing(wanting, signal, pollMs);
}

/** Waits until the identity holds every permission, naming the missing ones; returns early when `signal` aborts. */
export async function waitForPermissions(conn: Connection, wanted: readonly Permission[], logger: Logger, signal: AbortSignal, pollMs = 5_000): Promise<void> {
  const wanting: Wanting<Permission> = {
    missing: () => missingPermissions(conn, wanted),
    describe: (missing) => missing.map(describePermission).join("; "),
    report: (text, missing) => logger.error(`missing RBAC permission: ${text}; grant it to the operator's ServiceAccount (the Helm chart's ClusterRole does); waiting`, { missing: missing.map(describePermission) }),
  };
  await waitUntilNoneMissing(wanting, signal, pollMs);
}

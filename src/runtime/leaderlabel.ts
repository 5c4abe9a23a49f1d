// Marks the Pod of the elected leader with a label, so a Service can route to the leader only. Replicas that are not
// leading hold nothing worth serving (artifacts are made by the leader, on its own volume): selecting on this label
// keeps a Service's traffic away from them, with Kubernetes' own endpoint machinery and no proxy of ours.
import type { Logger } from "../log.js";
import type { Client } from "./client.js";
import { Kinds, type KubeObject } from "./kinds.js";
import type { Manager } from "./manager.js";

export interface LeaderLabelOptions {
  /** This replica's Pod (the downward API's metadata.name and metadata.namespace). */
  pod: string;
  namespace: string;
  /** The label key; its value names the Lease, so the leaders of different Deployments never unmark each other. */
  key: string;
  value: string;
}

const patchLabel = (client: Client, name: string, namespace: string, key: string, value: string | null, signal: AbortSignal) =>
  client.patch({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace } }, { metadata: { labels: { [key]: value } } }, "merge", { signal });

/**
 * Adds a runnable to `mgr` that, on start, removes the label from this replica's Pod (a restarted container must not
 * keep a label from when it led) and, once elected, labels this Pod and removes the label from every other Pod that
 * still carries it (a previous leader that lost its Lease without exiting).
 */
export function addLeaderLabel(mgr: Manager, o: LeaderLabelOptions, logger: Logger): void {
  const live = mgr.client.live();
  mgr.addRunnable(
    async (signal) => {
      try {
        const me = await live.get(Kinds.Pod, o.pod, o.namespace, { signal });
        if (me?.metadata?.labels?.[o.key] !== undefined) await patchLabel(live, o.pod, o.namespace, o.key, null, signal);
        await Promise.race([mgr.elected, new Promise((r) => signal.addEventListener("abort", r, { once: true }))]);
        if (signal.aborted) return;
        await patchLabel(live, o.pod, o.namespace, o.key, o.value, signal);
        const marked = await live.list<KubeObject>(Kinds.Pod, { namespace: o.namespace, labelSelector: `${o.key}=${o.value}`, signal });
        for (const p of marked) if (p.metadata?.name !== o.pod) await patchLabel(live, p.metadata!.name!, o.namespace, o.key, null, signal);
        logger.info("marked this Pod as the leader", { pod: o.pod, label: `${o.key}=${o.value}` });
      } catch (err) {
        if (signal.aborted) return;
        // Without the label the Service has no endpoint: say what to grant instead of failing silently.
        logger.error("cannot label the leader's Pod; Services that select the leader will have no endpoint", {
          pod: `${o.namespace}/${o.pod}`,
          error: (err as Error).message,
          fix: "grant get, list and patch on pods in this namespace (the chart's leader-election Role does)",
        });
      }
    },
    { needLeaderElection: false },
  );
}

// Each test works in a namespace of its own, so tests run in parallel and leave nothing behind.
import { randomBytes } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, DELIVERY_GROUP, Finalizers, SOURCE_GROUP } from "../../src/api/constants.js";
import type { TestCluster } from "./cluster.js";
import { waitFor } from "./wait.js";

export interface TestNamespace {
  name: string;
  /**
   * Deletes the namespace. Mooring's objects in it keep their finalizers only while an operator could still finalize
   * them: after a short grace, whatever is left loses Mooring's finalizer, because a test's operator is usually
   * stopped by then and its Applications would otherwise hold the namespace in Terminating for good (and show up in
   * every later test's lists).
   */
  cleanup(): Promise<void>;
}

/** The Mooring kinds that carry a finalizer, as the custom objects API names them. */
const FINALIZED = [
  { group: DELIVERY_GROUP, version: API_VERSION, plural: "applications", finalizer: Finalizers.application },
  { group: SOURCE_GROUP, version: API_VERSION, plural: "gitrepositories", finalizer: Finalizers.gitRepository },
];
const GRACE_MS = 3_000;

export async function createTestNamespace(cluster: TestCluster, prefix = "t"): Promise<TestNamespace> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`.toLowerCase();
  await cluster.core.createNamespace({ body: { metadata: { name, labels: { "mooring.dev/test": "true" } } } });
  // The ServiceAccount admission plugin refuses Pods until the namespace's default ServiceAccount exists.
  await waitFor(`default ServiceAccount in ${name}`, async () => (await cluster.core.readNamespacedServiceAccount({ name: "default", namespace: name })).metadata?.name, { timeoutMs: 20_000 });
  return {
    name,
    async cleanup() {
      try {
        await cluster.core.deleteNamespace({ name });
      } catch {
        return; // already gone
      }
      await new Promise((r) => setTimeout(r, GRACE_MS));
      await releaseFinalizers(cluster, name);
    },
  };
}

async function releaseFinalizers(cluster: TestCluster, namespace: string): Promise<void> {
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  for (const kind of FINALIZED) {
    let items: Array<{ metadata?: { name?: string; finalizers?: string[] } }> = [];
    try {
      items = ((await custom.listNamespacedCustomObject({ ...kind, namespace })) as { items: typeof items }).items;
    } catch {
      continue; // CRD not installed in this test's cluster, or the namespace is gone
    }
    for (const item of items) {
      const finalizers = item.metadata?.finalizers ?? [];
      if (!finalizers.includes(kind.finalizer)) continue;
      const body = { metadata: { finalizers: finalizers.filter((f) => f !== kind.finalizer) } };
      await custom
        .patchNamespacedCustomObject({ ...kind, namespace, name: item.metadata!.name!, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch))
        .catch(() => undefined); // finalized meanwhile
    }
  }
}

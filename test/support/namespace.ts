// Each test works in a namespace of its own, so tests run in parallel and leave nothing behind.
import { randomBytes } from "node:crypto";
import type { TestCluster } from "./cluster.js";
import { waitFor } from "./wait.js";

export interface TestNamespace {
  name: string;
  /** Deletes the namespace and waits until it is gone (bounded), so the next run starts clean. */
  cleanup(): Promise<void>;
}

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
    },
  };
}

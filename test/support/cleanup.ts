// Clean-up steps of an `after` hook, each on its own: one failing is reported and does not leave the others undone.
import type { Kube } from "../../src/cli/kube.js";
import type { KindDescriptor } from "../../src/runtime/index.js";
import { waitFor } from "./wait.js";

/** Runs one clean-up step; a failure is logged as `<prefix>: <what>: <message>`, never thrown. */
export async function quietly(what: string, fn: () => unknown, prefix = "clean-up"): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(`${prefix}: ${what}: ${(err as Error).message}`);
  }
}

/**
 * Deletes every object of `kinds` in a namespace, in that order, while the test's operator still runs to finalize
 * them (so what they applied is pruned); whatever is still there after `timeoutMs` loses its finalizers, so a failed
 * run never leaves the namespace stuck in Terminating. Each kind is one quiet step.
 */
export async function deleteWhileRunning(kube: Kube, namespace: string, kinds: KindDescriptor[], timeoutMs = 60_000): Promise<void> {
  for (const kind of kinds) {
    await quietly(`deleting ${kind.kind}s`, async () => {
      for (const o of await kube.client.list(kind, { namespace })) await kube.client.delete(o);
      await waitFor(`${kind.kind}s of ${namespace} finalized`, async () => (await kube.client.list(kind, { namespace })).length === 0, { timeoutMs }).catch(async () => {
        for (const o of await kube.client.list(kind, { namespace })) await kube.client.patch(o, { metadata: { finalizers: null } }, "merge");
      });
    });
  }
}

// The UI's buttons: sync, reconcile, suspend, resume and rollback do exactly what the `mooring` commands of the same
// names do (src/cli/ops.ts, src/cli/history.ts), with the signed-in user's client, so the API server decides what
// the user may do.
import { runCommand, type Io, type Kube } from "../cli/kube.js";
import { resume, rollback } from "../cli/history.js";
import { reconcile, setSuspended, sync } from "../cli/ops.js";
import type { Client, KubeConfig } from "../runtime/index.js";
import type { ActionName, ActionResult } from "./model.js";

/** Runs one action on Application namespace/name as `client`; the answer carries the command's own words. */
export async function runAction(action: ActionName, client: Client, kc: KubeConfig, namespace: string, name: string, o: { to?: number } = {}): Promise<ActionResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t.trimEnd()), err: (t) => void err.push(t.trimEnd()), color: false };
  const kube: Kube = { kc, client, namespace, close: () => undefined };
  const code = await runCommand(io, async () => {
    switch (action) {
      case "sync":
        return sync(kube, name, { wait: false, timeoutMs: 0 }, io);
      case "reconcile":
        return reconcile(kube, "application", name, { wait: false, timeoutMs: 0 }, io);
      case "suspend":
        return setSuspended(kube, name, true, io);
      case "resume":
        // As `mooring resume`: ends a suspension and a rollback's hold.
        return resume(kube, name, { output: "table" }, io);
      case "rollback":
        // As `mooring rollback [--to ID] --no-wait`: the apply controller does it; the page shows it live.
        return rollback(kube, name, { ...(o.to !== undefined ? { to: o.to } : {}), until: "resume", wait: false, timeoutMs: 0, output: "table" }, io);
    }
  });
  // The commands' lines start with a symbol for terminals (►, !, ✔): the page shows words.
  const text = [...err, ...out].map((l) => l.replace(/^(mooring: |[►!✔✗◎] )/u, "")).join("\n");
  return { ok: code === 0, message: text };
}

// The worker side of renderIsolated: render once, post the result or the error's fields, exit.
import { parentPort, workerData } from "node:worker_threads";
import { isRenderError } from "./errors.js";
import { render } from "./index.js";
import type { IsolatedRenderOptions, WorkerReply } from "./isolated.js";

const { rootDir, path, opts } = workerData as { rootDir: string; path: string; opts: IsolatedRenderOptions };
let reply: WorkerReply;
try {
  const known = new Set(opts.clusterScopedKinds ?? []);
  const { clusterScopedKinds: _unused, ...rest } = opts;
  const out = render(rootDir, path, { ...rest, scope: (group, kind) => (known.has(`${group}|${kind}`) ? true : undefined) });
  reply = { ok: true, result: { objects: out.objects, digest: out.digest, type: out.type } };
} catch (err) {
  reply = isRenderError(err)
    ? { ok: false, renderError: true, message: err.message, file: err.file, line: err.line, template: err.template }
    : { ok: false, renderError: false, message: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(reply);

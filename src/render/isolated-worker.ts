// The worker side of renderIsolated: render each request it is sent, one at a time, and post the result or the
// error's fields. A worker may serve several renders (of one namespace, see ./worker-pool.ts) before it exits.
import { parentPort } from "node:worker_threads";
import { isRenderError } from "./errors.js";
import { render } from "./index.js";
import type { IsolatedRenderOptions, WorkerReply, WorkerRequest } from "./isolated.js";

function renderOne({ rootDir, path, opts }: WorkerRequest): WorkerReply {
  try {
    const known = new Set(opts.clusterScopedKinds ?? []);
    const { clusterScopedKinds: _unused, ...rest } = opts as IsolatedRenderOptions;
    const out = render(rootDir, path, { ...rest, scope: (group, kind) => (known.has(`${group}|${kind}`) ? true : undefined) });
    return { ok: true, result: { objects: out.objects, digest: out.digest, type: out.type, ...(out.engine ? { engine: out.engine } : {}), ...(out.reads ? { reads: out.reads } : {}) } };
  } catch (err) {
    return isRenderError(err)
      ? { ok: false, renderError: true, message: err.message, file: err.file, line: err.line, template: err.template }
      : { ok: false, renderError: false, message: err instanceof Error ? err.message : String(err) };
  }
}

parentPort!.on("message", (req: WorkerRequest) => parentPort!.postMessage(renderOne(req)));

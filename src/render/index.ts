// Mooring's renderers: turn a directory of an extracted artifact into the exact list of objects to apply.
// Pure library code (no cluster): the render controller and `mooring render` both call `render`.
import { RenderError } from "./errors.js";
import { ArtifactRoot } from "./fs.js";
import { isChart, renderHelm, type HelmOptions } from "./helm.js";
import { detectEngine, type HelmEngine } from "./helm/detect.js";
import { ChartFiles } from "./helm/stage.js";
import { findKustomization, renderKustomize } from "./kustomize/index.js";
import { resolveLimits, type RenderLimits } from "./limits.js";
import type { KubeObject } from "./objects.js";
import { renderPlain } from "./plain.js";
import { finish, postRender, type PostRenderOptions, type RenderOutput } from "./post.js";

export { RenderError, isRenderError } from "./errors.js";
export { ArtifactRoot, replayReads } from "./fs.js";
export { DEFAULT_LIMITS, resolveLimits, type RenderLimits } from "./limits.js";
export { artifactBytes, cacheKey, canonicalJson, digestObjects, serialize, sortKeys, type OutputFormat } from "./canonical.js";
export type { KubeObject, ScopeResolver } from "./objects.js";
export { isClusterScoped } from "./objects.js";
export { APPLICATION_LABEL, MANAGED_BY_LABEL, substituteObject, validateOutput, type PostRenderOptions, type RenderOutput } from "./post.js";
export type { Overrides } from "./kustomize/index.js";
export { parseValues, type HelmOptions } from "./helm.js";

export type RenderType = "auto" | "plain" | "kustomize" | "helm";

export interface RenderOptions extends PostRenderOptions {
  type?: RenderType;
  helm?: HelmOptions;
  limits?: Partial<RenderLimits>;
  /** Also return everything the render read of the tree (ArtifactRoot.reads), for replayReads. */
  traceReads?: boolean;
}

/** Which renderer `auto` picks: Chart.yaml → helm, a kustomization → kustomize, otherwise plain. */
export function detectType(root: ArtifactRoot, dir: string): Exclude<RenderType, "auto"> {
  if (!root.isDir(dir)) return "plain";
  if (isChart(root, dir)) return "helm";
  if (findKustomization(root, dir)) return "kustomize";
  return "plain";
}

/**
 * Renders `path` (relative to `rootDir`, the extracted artifact) and runs the post-render steps. Throws RenderError
 * (with file/line/template) on any bad input.
 */
export function render(
  rootDir: string,
  path: string,
  opts: RenderOptions = {},
): RenderOutput & { type: Exclude<RenderType, "auto">; engine?: HelmEngine; reads?: Record<string, string> } {
  const root = new ArtifactRoot(rootDir, resolveLimits(opts.limits), { trace: opts.traceReads });
  const dir = root.resolve(path || ".", "", "path");
  const type = !opts.type || opts.type === "auto" ? detectType(root, dir) : opts.type;
  let objects: KubeObject[];
  let engine: HelmEngine | undefined;
  switch (type) {
    case "plain":
      objects = renderPlain(root, dir);
      break;
    case "kustomize":
      objects = renderKustomize(root, dir, { scope: opts.scope });
      break;
    case "helm":
      if (!isChart(root, dir)) throw new RenderError("is not a chart: Chart.yaml is missing", { file: dir || "." });
      // The engine is resolved here, once, so that the result can say which one rendered (status.render.engine);
      // renderHelm is handed the decision instead of detecting again.
      engine = detectEngine(new ChartFiles(root), dir, opts.helm?.engine).engine;
      // Rendering for an Application maps Helm hooks onto sync waves (src/render/helm/hooks.ts).
      objects = renderHelm(root, dir, { namespace: opts.targetNamespace, hookWaves: opts.application !== undefined, ...(opts.helm ?? {}), engine });
      break;
    default:
      throw new RenderError(`unknown render type "${String(type)}" (use auto, plain, kustomize or helm)`);
  }
  const out = { ...finish(postRender(root, objects, opts)), type, ...(engine ? { engine } : {}) };
  return root.reads ? { ...out, reads: Object.fromEntries(root.reads) } : out;
}
export { renderCacheKey, renderOptionsFor, type ApplicationRef, type ApplicationRender, type ResolvedInputs } from "./application.js";
export { renderIsolated, type IsolatedRenderOptions, type IsolatedResult, type IsolationLimits } from "./isolated.js";

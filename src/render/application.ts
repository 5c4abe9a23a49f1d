// From an Application to render options: the one place that maps spec.path, spec.render and spec.targetNamespace
// onto the renderers, so the render controller stays a thin layer (resolve references, call this, call render).
import type { ApplicationSpec } from "../api/application.js";
import { cacheKey } from "./canonical.js";
import type { JsonMap } from "./objects.js";
import type { RenderOptions } from "./index.js";

export interface ApplicationRef {
  namespace: string;
  name: string;
}

/** What the controller reads from the cluster for an Application: valuesFrom documents and substituteFrom keys. */
export interface ResolvedInputs {
  /** Parsed values, in spec.render.helm.valuesFrom order (missing optional references left out). */
  valuesFrom?: JsonMap[];
  /** Variables from spec.render.substituteFrom, later references already winning over earlier ones. */
  substituteFrom?: Record<string, string>;
}

export interface ApplicationRender {
  /** Path to render inside the artifact. */
  path: string;
  options: RenderOptions;
}

export function renderOptionsFor(app: ApplicationRef, spec: Pick<ApplicationSpec, "path" | "render" | "targetNamespace">, resolved: ResolvedInputs = {}): ApplicationRender {
  const r = spec.render ?? {};
  const targetNamespace = spec.targetNamespace ?? app.namespace;
  const options: RenderOptions = {
    type: r.type ?? "auto",
    targetNamespace,
    application: { namespace: app.namespace, name: app.name },
    helm: {
      releaseName: r.helm?.releaseName ?? app.name,
      namespace: targetNamespace,
      valuesFiles: r.helm?.valuesFiles,
      valuesFrom: resolved.valuesFrom,
      values: r.helm?.values as JsonMap | undefined,
    },
  };
  if (r.kustomize) options.overrides = { ...r.kustomize };
  // Substitution is on only when the Application asks for it, so `${…}` in ordinary manifests stays as written.
  if (r.substitute !== undefined || r.substituteFrom !== undefined) {
    options.substitute = { ...(resolved.substituteFrom ?? {}), ...(r.substitute ?? {}) };
  }
  return { path: spec.path ?? "./", options };
}

/**
 * Cache key of a render: the source artifact's digest plus everything in the Application and the cluster that
 * changes the output. Equal keys mean an identical rendered artifact.
 */
export function renderCacheKey(
  sourceDigest: string,
  app: ApplicationRef,
  spec: Pick<ApplicationSpec, "path" | "render" | "targetNamespace">,
  resolved: ResolvedInputs = {},
): string {
  return cacheKey({ v: 1, sourceDigest, app, path: spec.path ?? "./", render: spec.render ?? {}, targetNamespace: spec.targetNamespace ?? null, resolved });
}

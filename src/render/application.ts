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
  /**
   * What the target cluster serves, for Go-template charts' .Capabilities: its version (GET /version) and API
   * versions (discovery). spec.render.helm.kubeVersion wins over kubeVersion; apiVersions adds to the spec's.
   */
  capabilities?: { kubeVersion?: string; apiVersions?: string[] };
  /** The Application was applied before: render Go-template charts as an upgrade (.Release.IsUpgrade, upgrade hooks). */
  isUpgrade?: boolean;
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
  // Go-template charts (src/render/helm/go.ts): only what is set, so other renders keep their options as they were.
  const helm = options.helm!;
  if (r.helm?.engine) helm.engine = r.helm.engine;
  const kubeVersion = r.helm?.kubeVersion ?? resolved.capabilities?.kubeVersion;
  if (kubeVersion) helm.kubeVersion = kubeVersion;
  const apiVersions = [...new Set([...(r.helm?.apiVersions ?? []), ...(resolved.capabilities?.apiVersions ?? [])])];
  if (apiVersions.length > 0) helm.apiVersions = apiVersions;
  if (r.helm?.skipCrds) helm.skipCrds = true;
  if (resolved.isUpgrade) helm.isUpgrade = true;
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

// The render controller's source step: an Application's spec.sourceRef resolved to the artifact it renders from,
// or a SourceError saying why there is none (SourceReady=False, ./outcome.ts).
import { ApplicationDefaults, ConditionTypes, GitRepositoryKind, HelmChartKind, Reasons, type Application, type CommitMetadata, type GitRepository } from "../api/index.js";
import type { Client, KubeObject } from "../runtime/index.js";
import { RenderReasons, SourceError } from "./outcome.js";

type ApplicationObject = Application & KubeObject;
type SourceObject = GitRepository & KubeObject & { status?: { chartName?: string } };

/** How long to wait at most before looking at a source without an artifact again (its watch usually comes first). */
const NOT_READY_RECHECK_MS = 60_000;

export interface ResolvedSource {
  /** `commit`: the GitRepository's commit metadata, carried to status.render.artifact and from there to history. */
  artifact: { url: string; digest: string; revision: string; commit?: CommitMetadata };
  /** The Application's spec, with spec.path inside the chart's directory when the source is a HelmChart. */
  spec: ApplicationObject["spec"];
  /** The source is a HelmChart (its artifact is the chart's .tgz). */
  chart: boolean;
}

/**
 * The artifact `app` renders from. Refuses a source in another namespace unless `allowCrossNamespaceRefs`; a source
 * that cannot be read, does not exist or has no artifact yet is a SourceError naming it and what to do.
 */
export async function resolveSource(client: Client, app: ApplicationObject, allowCrossNamespaceRefs: boolean): Promise<ResolvedSource> {
  const ns = app.metadata!.namespace!;
  const ref = app.spec.sourceRef;
  const srcNs = ref.namespace ?? ns;
  // Checked before the source is read: a tenant must not learn whether another namespace's source exists, nor
  // render (and so read through its artifact) another tenant's repository.
  if (srcNs !== ns && !allowCrossNamespaceRefs) {
    throw new SourceError(
      RenderReasons.crossNamespaceRefForbidden,
      `spec.sourceRef.namespace names ${ref.kind} ${srcNs}/${ref.name} in another namespace, and cross-namespace references are refused unless the operator runs with --allow-cross-namespace-refs (Helm value allowCrossNamespaceRefs); put the ${ref.kind} in namespace ${ns}`,
      { kind: "onChange" },
    );
  }
  const srcKind = ref.kind === "HelmChart" ? HelmChartKind : GitRepositoryKind;
  let repo: SourceObject | undefined;
  try {
    repo = await client.get<SourceObject>(srcKind, ref.name, srcNs);
  } catch (err) {
    // A namespace-scoped operator cannot see other namespaces: say so rather than retrying forever.
    throw new SourceError(Reasons.sourceNotFound, `cannot read ${srcKind.kind} ${srcNs}/${ref.name}: ${(err as Error).message}`, { kind: "interval" });
  }
  if (!repo) {
    throw new SourceError(Reasons.sourceNotFound, `${srcKind.kind} ${srcNs}/${ref.name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`, { kind: "interval" });
  }
  const art = repo.status?.artifact;
  if (!art?.url || !art.digest) {
    const why = repo.status?.conditions?.find((c) => c.type === ConditionTypes.ready && c.status === "False")?.message;
    const message = `${srcKind.kind} ${srcNs}/${ref.name} has no artifact yet${why ? `: ${why}` : "; waiting for the source controller to fetch it"}`;
    throw new SourceError(Reasons.sourceNotReady, message, { kind: "interval", capMs: NOT_READY_RECHECK_MS });
  }
  // A HelmChart's artifact is the chart's .tgz: the chart is its directory <status.chartName>, spec.path inside it.
  const chartDir = ref.kind === "HelmChart" ? (repo.status?.chartName ?? "") : undefined;
  const spec = chartDir !== undefined ? { ...app.spec, path: chartPath(chartDir, app.spec.path) } : app.spec;
  return { artifact: { url: art.url, digest: art.digest, revision: art.revision, ...(art.commit ? { commit: art.commit } : {}) }, spec, chart: chartDir !== undefined };
}

/** spec.path of an Application rendering a HelmChart: relative to the chart's directory in the .tgz. */
function chartPath(chartDir: string, p: string | undefined): string {
  const rest = (p ?? "./").replace(/^(\.\/)+/, "").replace(/^\.$/, "");
  return rest ? `${chartDir}/${rest}` : chartDir;
}

/** spec.path as rendered, for messages. */
export function renderPathOf(spec: ApplicationObject["spec"]): string {
  return spec.path ?? ApplicationDefaults.path;
}

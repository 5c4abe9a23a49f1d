// The HelmRepository and HelmChart controllers (docs/source.md "Helm charts"), on the runtime library.
//   HelmRepository: reads <url>/index.yaml each interval; Ready with the index's digest and chart count, or why not.
//   HelmChart:      (from a GitRepository: ./helm-git-build.ts, built again when its artifact changes)
//                   reads its repository's index, resolves spec.chart + spec.version to the newest matching version;
//                   the same version with the same digest already stored → nothing downloaded, nothing written;
//                   else downloads the .tgz (bounded), verifies it against the index's digest, finds the chart's
//                   directory, and stores the .tgz unchanged (content-addressed) as status.artifact.
// Failures keep the last good artifact and say why (Ready=False and FetchFailed with their own reason). Status is
// written by server-side apply as mooring-source, only when it changed (./helm-reconcile.ts). A HelmChart that is
// gone has its artifacts removed when its deletion is seen.
import { GitRepositoryKind, HelmChartKind, HelmRepositoryKind, Annotations, type GitRepository } from "../api/index.js";
import { annotationChanged, generationChanged, or, stableJson, type Controller, type KubeObject, type Manager, type Predicate, type Request } from "../runtime/index.js";
import type { HelmStats } from "./helm-repo.js";
import { HelmReconciler, type HelmChartObject, type HelmControllerOptions, type HelmRepositoryObject } from "./helm-reconcile.js";

export { chartKey, type HelmControllerOptions } from "./helm-reconcile.js";

export interface HelmControllers {
  repositories: Controller;
  charts: Controller;
  stats: HelmStats;
}

const INDEX_REPO = "mooring-source/helmrepository";

/** Requests that name a HelmChart: a spec change or a reconcile request (never a status write). */
const specOrRequest: Predicate = or(generationChanged, annotationChanged(Annotations.reconcileRequestedAt));

/** Sets up the HelmRepository and HelmChart controllers on `mgr`. */
export function setupHelmControllers(mgr: Manager, opts: HelmControllerOptions): HelmControllers {
  const r = new HelmReconciler(mgr, opts);
  const repositories = mgr
    .controller("helmrepository")
    .for(HelmRepositoryKind, { predicates: [specOrRequest] })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build((req, ctx) => r.repository(req, ctx));
  // A HelmChart is looked at again when its repository's index changes, or (a chart from Git) when its
  // GitRepository has a new artifact.
  const charts = mgr
    .controller("helmchart")
    .for(HelmChartKind, { predicates: [specOrRequest] })
    .watches<HelmRepositoryObject>(HelmRepositoryKind, (repo) => chartsOf(`HelmRepository/${repo.metadata?.namespace ?? ""}/${repo.metadata?.name ?? ""}`), {
      predicates: [{ update: (o, n) => o.metadata?.generation !== n.metadata?.generation || stableJson(o.status?.index ?? null) !== stableJson(n.status?.index ?? null) }],
    })
    .watches<GitRepository & KubeObject>(GitRepositoryKind, (git) => chartsOf(`GitRepository/${git.metadata?.namespace ?? ""}/${git.metadata?.name ?? ""}`), {
      predicates: [{ update: (o, n) => o.status?.artifact?.digest !== n.status?.artifact?.digest }],
    })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build((req, ctx) => r.chart(req, ctx));

  const chartInformer = mgr.cache.informerFor<HelmChartObject>(HelmChartKind);
  chartInformer.addIndexers({ [INDEX_REPO]: (c) => (c.spec?.sourceRef?.name ? [`${c.spec.sourceRef.kind ?? "HelmRepository"}/${c.metadata?.namespace ?? ""}/${c.spec.sourceRef.name}`] : []) });
  function chartsOf(key: string): Request[] {
    return chartInformer.store.byIndex(INDEX_REPO, key).map((c) => ({ namespace: c.metadata?.namespace ?? "", name: c.metadata?.name ?? "" }));
  }
  return { repositories, charts, stats: r.stats };
}

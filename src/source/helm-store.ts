// HelmCharts' charts in artifact storage: stored content-addressed under the HelmChart's key, served at the
// advertised address; whether the chart a status names is still there; the files of the chart stored last.
import { artifactUrl, type ArtifactKey, type ArtifactStorage } from "../artifact/storage.js";
import { HelmChartKind } from "../api/index.js";
import { metaTime } from "../runtime/index.js";
import { extractDir, type TreeFile } from "./helm-git.js";
import type { DownloadedChart } from "./helm-repo.js";
import type { ChartArtifact } from "./helm-status.js";

export function chartKey(obj: { metadata?: { namespace?: string; name?: string } }): ArtifactKey {
  return { kind: HelmChartKind.kind, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

export class ChartStore {
  constructor(
    private readonly storage: ArtifactStorage,
    /** host:port (or base URL) consumers download artifacts from. */
    private readonly advertisedAddr: string,
  ) {}

  /** Whether the chart `artifact` names is in storage with its digest (an artifact of another server's is not). */
  exists(artifact: ChartArtifact | undefined): Promise<boolean> {
    return artifact ? this.storage.exists(this.relPath(artifact.url) ?? "", artifact.digest) : Promise.resolve(false);
  }

  /** Stores a downloaded (or built) chart .tgz unchanged as the HelmChart's artifact, checked against its digest. */
  async write(chart: { metadata?: { namespace?: string; name?: string } }, version: string, got: DownloadedChart, now = Date.now()): Promise<{ artifact: ChartArtifact; chartName: string }> {
    const art = await this.storage.write(chartKey(chart), single(got.bytes), ".tgz");
    if (art.digest !== got.digest) throw new Error(`stored chart digest ${art.digest} differs from the downloaded ${got.digest}`);
    return { artifact: { url: artifactUrl(this.advertisedAddr, art.path), revision: version, digest: art.digest, size: art.size, lastUpdateTime: metaTime(now) }, chartName: got.chartName };
  }

  /** The files under `dir` of a stored chart (undefined when it cannot be read: the caller downloads instead). */
  async files(artifact: ChartArtifact, dir: string): Promise<Map<string, TreeFile> | undefined> {
    const rel = this.relPath(artifact.url);
    return rel ? extractDir(this.storage.absolute(rel), dir, "the stored chart").catch(() => undefined) : undefined;
  }

  /** Removes every chart of a HelmChart that is gone. */
  remove(key: { namespace: string; name: string }): Promise<void> {
    return this.storage.remove(chartKey({ metadata: key }));
  }

  /** The storage-relative path of an artifact URL this controller built (undefined for another server's). */
  private relPath(url: string): string | undefined {
    const base = artifactUrl(this.advertisedAddr, "");
    if (!url.startsWith(base)) return undefined;
    return url.slice(base.length).split("/").map(decodeURIComponent).join("/");
  }
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

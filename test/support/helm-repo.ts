// A real Helm chart repository on loopback for tests: charts packaged with the pinned `helm package`, an index.yaml
// made by the pinned `helm repo index`, served by a small HTTP(S) server with optional basic auth, request
// counters per path, a status to fail with, and per-path overrides (a tampered chart, a broken index).
import http from "node:http";
import https from "node:https";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { helmOk } from "./helm.js";

export interface HelmRepoOptions {
  basicAuth?: { username: string; password: string };
  tls?: { key: string; cert: string };
}

export interface ChartSpec {
  name: string;
  version: string;
  /** Files of the chart besides Chart.yaml (path → content). */
  files?: Record<string, string>;
  appVersion?: string;
}

/** A minimal Go-template chart: one ConfigMap naming the chart version, values and capabilities. */
export function configMapChart(name: string, version: string, extra: Record<string, string> = {}): ChartSpec {
  return {
    name,
    version,
    files: {
      "values.yaml": "greeting: hello\n",
      "templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  version: {{ .Chart.Version | quote }}
  greeting: {{ .Values.greeting | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  upgrade: {{ .Release.IsUpgrade | quote }}
`,
      ...extra,
    },
  };
}

export class HelmRepoServer {
  /** Requests per path (e.g. "/index.yaml", "/demo-1.0.0.tgz"). */
  readonly requests = new Map<string, number>();
  /** Answer every request with this status. */
  failStatus: number | undefined;
  /** Wait this long before answering (a slow or hung server). */
  delayMs = 0;
  /** Bodies served instead of the files, by path. */
  readonly overrides = new Map<string, Buffer | string>();
  readonly dir: string;
  private readonly work: string;

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly port: number,
    private readonly opts: HelmRepoOptions,
    dirs: { dir: string; work: string },
  ) {
    this.dir = dirs.dir;
    this.work = dirs.work;
  }

  static async start(opts: HelmRepoOptions = {}): Promise<HelmRepoServer> {
    const root = mkdtempSync(path.join(os.tmpdir(), "mooring-helmrepo-"));
    const dir = path.join(root, "repo");
    const work = path.join(root, "work");
    mkdirSync(dir);
    mkdirSync(work);
    const holder: { self?: HelmRepoServer } = {};
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => holder.self!.handle(req, res);
    const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const self = new HelmRepoServer(server, port, opts, { dir, work });
    holder.self = self;
    self.reindex();
    return self;
  }

  get url(): string {
    return `${this.opts.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  count(p: string): number {
    return this.requests.get(p) ?? 0;
  }

  /** Packages a chart with `helm package` into the repository and regenerates index.yaml; returns the .tgz path. */
  addChart(chart: ChartSpec): string {
    const src = path.join(this.work, `${chart.name}-${chart.version}`, chart.name);
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "Chart.yaml"), `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version}\n${chart.appVersion ? `appVersion: "${chart.appVersion}"\n` : ""}`);
    for (const [rel, text] of Object.entries(chart.files ?? {})) {
      mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      writeFileSync(path.join(src, rel), text);
    }
    helmOk(["package", src, "--destination", this.dir]);
    this.reindex();
    return path.join(this.dir, `${chart.name}-${chart.version}.tgz`);
  }

  /** `helm repo index` of the directory (digests included), with the server's URL. */
  reindex(): void {
    if (!readdirSync(this.dir).some((f) => f.endsWith(".tgz"))) {
      writeFileSync(path.join(this.dir, "index.yaml"), "apiVersion: v1\nentries: {}\n");
      return;
    }
    helmOk(["repo", "index", this.dir, "--url", this.url]);
  }

  index(): string {
    return readFileSync(path.join(this.dir, "index.yaml"), "utf8");
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.delayMs > 0) {
      const t = setTimeout(() => this.answer(req, res), this.delayMs);
      res.on("close", () => clearTimeout(t));
      return;
    }
    this.answer(req, res);
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    this.requests.set(p, (this.requests.get(p) ?? 0) + 1);
    if (this.opts.basicAuth) {
      const want = "Basic " + Buffer.from(`${this.opts.basicAuth.username}:${this.opts.basicAuth.password}`).toString("base64");
      if (req.headers.authorization !== want) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="charts"' }).end("unauthorized\n");
        return;
      }
    }
    if (this.failStatus) {
      res.writeHead(this.failStatus).end(`failing with ${this.failStatus}\n`);
      return;
    }
    const override = this.overrides.get(p);
    if (override !== undefined) {
      const body = Buffer.from(override);
      res.writeHead(200, { "content-length": body.length }).end(body);
      return;
    }
    const name = p.replace(/^\/+/, "");
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(path.join(this.dir, name));
    } catch {
      res.writeHead(404).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": name.endsWith(".yaml") ? "text/yaml" : "application/gzip", "content-length": body.length }).end(body);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
    rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }
}

// A real git smart-HTTP server for tests and benchmarks: Node's http(s) server in front of `git http-backend`
// (the CGI that ships with git), on loopback. It can demand basic auth or a bearer token, serve TLS with a
// self-signed certificate, be made slow or fail with a status, and counts requests and bytes so tests can assert
// that a no-op poll downloads no pack. Repositories are created and changed with the real `git` CLI.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile, symlink, readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { relayCgiResponse } from "../../hack/lib/cgi.js";

const run = promisify(execFile);

/** Runs git with a fixed identity and no user/system config, so tests behave the same on every machine. */
export async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run("git", args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.invalid",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.invalid",
      GIT_AUTHOR_DATE: "2024-01-01T00:00:00Z",
      GIT_COMMITTER_DATE: "2024-01-01T00:00:00Z",
      ...env,
    },
  });
  return stdout.trim();
}

async function gitBackendPath(): Promise<string> {
  const execPath = await git(os.tmpdir(), ["--exec-path"]);
  return path.join(execPath, "git-http-backend");
}

export interface GitServerOptions {
  /** Demand HTTP basic auth with these credentials. */
  basicAuth?: { username: string; password: string };
  /** Demand `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Serve HTTPS with this key and certificate (see `selfSignedCert`). */
  tls?: { key: string; cert: string };
}

export interface GitServerStats {
  requests: number;
  /** GET .../info/refs requests (ref advertisements). */
  refListings: number;
  /** POST .../git-upload-pack requests (pack negotiations and downloads). */
  uploadPacks: number;
  /** Bytes of response bodies sent to clients. */
  bytesOut: number;
  /** Bytes of upload-pack response bodies (the packs). */
  packBytes: number;
}

export interface CommitFiles {
  /** path → content; `{ symlink: target }` for a symbolic link; `null` deletes the path. */
  [path: string]: string | Buffer | { symlink: string } | null;
}

/** A work clone of a bare repository served by the server; commits here reach clients after `push`. */
export class TestRepo {
  constructor(
    readonly name: string,
    readonly url: string,
    readonly bareDir: string,
    readonly workDir: string,
  ) {}

  /** Writes (or deletes) files, commits them all and pushes the current branch; returns the commit SHA. */
  async commit(files: CommitFiles, message = "change"): Promise<string> {
    for (const [rel, content] of Object.entries(files)) {
      const abs = path.join(this.workDir, rel);
      await mkdir(path.dirname(abs), { recursive: true });
      await rm(abs, { force: true, recursive: true });
      if (content === null) continue;
      if (typeof content === "object" && !Buffer.isBuffer(content)) await symlink(content.symlink, abs);
      else await writeFile(abs, content);
    }
    await git(this.workDir, ["add", "-A"]);
    await git(this.workDir, ["commit", "-q", "--allow-empty", "-m", message]);
    await this.push();
    return this.head();
  }

  async head(): Promise<string> {
    return git(this.workDir, ["rev-parse", "HEAD"]);
  }

  /** Creates and switches to a branch (from the current commit). */
  async branch(name: string): Promise<void> {
    await git(this.workDir, ["checkout", "-q", "-B", name]);
  }

  async checkout(name: string): Promise<void> {
    await git(this.workDir, ["checkout", "-q", name]);
  }

  /** Tags the current commit (annotated when a message is given) and pushes the tag. */
  async tag(name: string, message?: string): Promise<void> {
    await git(this.workDir, message === undefined ? ["tag", name] : ["tag", "-a", name, "-m", message]);
    await git(this.workDir, ["push", "-q", "origin", `refs/tags/${name}`]);
  }

  async push(): Promise<void> {
    await git(this.workDir, ["push", "-q", "-f", "origin", "HEAD"]);
  }

  /** Sets the bare repository's HEAD (what clients see as the default branch). */
  async setDefaultBranch(name: string): Promise<void> {
    await git(this.bareDir, ["symbolic-ref", "HEAD", `refs/heads/${name}`]);
  }

  /** Runs any git command in the work clone. */
  async git(args: string[]): Promise<string> {
    return git(this.workDir, args);
  }
}

export class GitServer {
  /** Delay before each response starts (ms); set to make the server slow for timeout tests. */
  delayMs = 0;
  /** When set, every request is answered with this status and no git involvement. */
  failStatus: number | undefined;
  stats: GitServerStats = GitServer.emptyStats();

  private readonly children = new Set<ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private repoCount = 0;

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly root: string,
    private readonly backend: string,
    private readonly opts: GitServerOptions,
  ) {}

  static emptyStats(): GitServerStats {
    return { requests: 0, refListings: 0, uploadPacks: 0, bytesOut: 0, packBytes: 0 };
  }

  static async start(opts: GitServerOptions = {}): Promise<GitServer> {
    const root = await mkdtemp(path.join(os.tmpdir(), "mooring-git-"));
    await mkdir(path.join(root, "repos"));
    await mkdir(path.join(root, "work"));
    const backend = await gitBackendPath();
    const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }) : http.createServer();
    const gs = new GitServer(server, root, backend, opts);
    server.on("request", (req, res) => gs.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return gs;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    return `${this.opts.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  /** The clone URL of a repository by name. */
  url(name: string): string {
    return `${this.baseUrl}/${name}.git`;
  }

  resetStats(): void {
    this.stats = GitServer.emptyStats();
  }

  /** Creates a bare repository and a work clone; with `files`, makes a first commit on `branch` (default main). */
  async createRepo(name?: string, opts: { files?: CommitFiles; branch?: string; allowSha1InWant?: boolean } = {}): Promise<TestRepo> {
    const repoName = name ?? `repo${++this.repoCount}`;
    const bare = path.join(this.root, "repos", `${repoName}.git`);
    const work = path.join(this.root, "work", repoName);
    const branch = opts.branch ?? "main";
    await mkdir(bare, { recursive: true });
    await git(bare, ["init", "-q", "--bare", `--initial-branch=${branch}`]);
    if (opts.allowSha1InWant) await git(bare, ["config", "uploadpack.allowReachableSHA1InWant", "true"]);
    await git(this.root, ["init", "-q", `--initial-branch=${branch}`, work]);
    await git(work, ["remote", "add", "origin", bare]);
    await git(work, ["config", "core.symlinks", "true"]);
    const repo = new TestRepo(repoName, this.url(repoName), bare, work);
    if (opts.files) await repo.commit(opts.files, "initial");
    return repo;
  }

  /**
   * Ends a CGI run the client walked away from: the whole process group (http-backend and the upload-pack it
   * started, which would otherwise block forever writing to a pipe nobody reads) and our ends of its pipes.
   */
  private static kill(child: ChildProcess): void {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    child.stdin?.destroy();
    child.stdout?.destroy();
    child.stderr?.destroy();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.children) GitServer.kill(c);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.root, { recursive: true, force: true });
  }

  private authorized(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    if (this.opts.bearerToken !== undefined) {
      if (header === `Bearer ${this.opts.bearerToken}`) return true;
    }
    if (this.opts.basicAuth) {
      const expected = "Basic " + Buffer.from(`${this.opts.basicAuth.username}:${this.opts.basicAuth.password}`).toString("base64");
      if (header === expected) return true;
    }
    return this.opts.bearerToken === undefined && this.opts.basicAuth === undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.requests++;
    const url = new URL(req.url ?? "/", "http://localhost");
    const isInfoRefs = url.pathname.endsWith("/info/refs");
    const isUploadPack = url.pathname.endsWith("/git-upload-pack");
    if (isInfoRefs) this.stats.refListings++;
    if (isUploadPack) this.stats.uploadPacks++;
    const origWrite = res.write.bind(res);
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      const n = typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
      this.stats.bytesOut += n;
      if (isUploadPack) this.stats.packBytes += n;
      return (origWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;

    const respond = () => {
      if (this.failStatus !== undefined) {
        res.writeHead(this.failStatus, { "content-type": "text/plain" }).end(`failing on purpose with ${this.failStatus}\n`);
        return;
      }
      if (!this.authorized(req)) {
        const challenge = this.opts.basicAuth ? 'Basic realm="git"' : 'Bearer realm="git"';
        res.writeHead(401, { "www-authenticate": challenge, "content-type": "text/plain" }).end("authentication required\n");
        return;
      }
      this.cgi(req, res, url);
    };
    if (this.delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        respond();
      }, this.delayMs);
      this.timers.add(t);
    } else respond();
  }

  private cgi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const child = spawn(this.backend, [], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: path.join(this.root, "repos"),
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        REMOTE_USER: this.opts.basicAuth?.username ?? "anonymous",
        REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        // The body is decompressed here, so git sees no Content-Length (it reads to EOF) and no encoding.
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      },
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group: http-backend runs `git upload-pack`, which must die with it (see kill()).
      detached: true,
    });
    this.children.add(child);
    child.on("close", () => this.children.delete(child));
    child.on("error", () => {
      if (!res.headersSent) res.writeHead(500).end("cannot run git http-backend\n");
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });

    const body = req.headers["content-encoding"] === "gzip" ? req.pipe(zlib.createGunzip()) : req;
    body.on("error", () => child.kill("SIGKILL"));
    body.pipe(child.stdin);
    child.stdin.on("error", () => {});
    res.on("close", () => GitServer.kill(child));

    // Streamed; Node chunks the body since CGI gives no length.
    relayCgiResponse(child.stdout, res, () => `git http-backend failed: ${stderr}`);
  }
}

/** A self-signed certificate for 127.0.0.1/localhost, made with the openssl CLI; `cert` doubles as the CA. */
export async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-cert-"));
  try {
    await run(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      { cwd: dir, timeout: 30_000 },
    );
    return { key: await readFile(path.join(dir, "key.pem"), "utf8"), cert: await readFile(path.join(dir, "cert.pem"), "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// A real OCI registry on loopback for tests: the CNCF distribution registry (`registry`, built by `make tools` from
// hack/tools/registry), over TLS with a self-signed certificate, filesystem storage in a temporary directory, with
// either htpasswd basic auth or token auth (`auth: token`): the registry answers a request without a token with a
// `Bearer realm=…,service=…,scope=…` challenge, and accepts only tokens signed by the token server of ours below
// (./registry-token-server.ts), which speaks the Docker token API: GET <realm>?service=…&scope=… with basic
// credentials, answered with {token, access_token}. Charts are pushed with the pinned `helm push`, as a publisher would. A missing
// binary fails the test (never skips).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { selfSignedCert } from "./git-server.js";
import { helmOk } from "./helm.js";
import { type ChartSpec } from "./helm-repo.js";

export const REGISTRY_USER = "charts";
export const REGISTRY_PASSWORD = "pw-oci-test";
// bcrypt (cost 4) of REGISTRY_PASSWORD: distribution's htpasswd auth reads only bcrypt.
const HTPASSWD = `${REGISTRY_USER}:$2b$04$.yJLgYk8HIGkM.Ee5PNyI.VFw.AoWrx4no5.mJUCF2cBpZVNnw4wq\n`;

export function registryBinary(): string {
  const cache = process.env.MOORING_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mooring");
  const bin = path.join(cache, "bin/registry");
  if (!existsSync(bin)) throw new Error(`the OCI registry is not at ${bin}; run 'make tools' to build it (or set MOORING_CACHE to the cache that has it)`);
  return bin;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The `service` the registry names in its challenges and the tokens' audience. */
export const TOKEN_SERVICE = "mooring-test-registry";
export const TOKEN_ISSUER = "mooring-test-token-issuer";

/** One request the token server answered. */
export interface TokenRequest {
  service: string | null;
  scopes: string[];
  /** The user of the basic credentials sent, undefined without any. */
  user?: string;
  /** 200 with a token, 401 for wrong credentials. */
  status: number;
}

/** Where the registry sends clients for a token: our token server over HTTPS at 127.0.0.1 unless told otherwise. */
export interface RealmOptions {
  /** http: the token server serves plain HTTP and the realm is http:// (a misconfigured registry). */
  scheme?: "https" | "http";
  /** The realm's host name: 127.0.0.1 (the registry's), or localhost (the same server under another name). */
  host?: "127.0.0.1" | "localhost";
}

/**
 * The token server of ./registry-token-server.ts, in a process of its own: helm is run with spawnSync (push, login),
 * which blocks this process's event loop while helm waits for a token.
 */
export class RegistryTokenServer {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    private readonly ca: string,
    private readonly o: Required<RealmOptions>,
  ) {}

  static async start(dir: string, realm: RealmOptions = {}): Promise<RegistryTokenServer> {
    const o: Required<RealmOptions> = { scheme: realm.scheme ?? "https", host: realm.host ?? "127.0.0.1" };
    const proc = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "registry-token-server.ts")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TOKEN_SERVER_DIR: dir, TOKEN_SERVICE, TOKEN_ISSUER, TOKEN_USER: REGISTRY_USER, TOKEN_PASSWORD: REGISTRY_PASSWORD, TOKEN_SERVER_PLAIN: o.scheme === "http" ? "1" : "" },
    });
    let out = "";
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the registry token server did not start within 60 s: ${stderr}`)), 60_000);
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^listening (\d+)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the registry token server exited (${code}): ${stderr}`));
      });
    });
    return new RegistryTokenServer(proc, port, readFileSync(path.join(dir, "cert.pem"), "utf8"), o);
  }

  get realm(): string {
    return `${this.o.scheme}://${this.o.host}:${this.port}/token`;
  }

  /** Every request the server answered, in order. */
  async requests(): Promise<TokenRequest[]> {
    const get = this.o.scheme === "http" ? http.get : https.get;
    return new Promise((resolve, reject) => {
      get(`${this.o.scheme}://127.0.0.1:${this.port}/requests`, { ca: this.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as TokenRequest[]));
        res.on("error", reject);
      }).on("error", reject);
    });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

export interface OciRegistryOptions {
  /** htpasswd (default): basic auth at the registry. token: the registry's token flow, through `tokenServer`. */
  auth?: "htpasswd" | "token";
  /** With auth: token, the realm the registry names (default https://127.0.0.1:<port>/token); http: no `push`. */
  realm?: RealmOptions;
}

export class OciRegistry {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    readonly ca: string,
    private readonly dir: string,
    /** With auth: token, the token server the registry sends clients to. */
    readonly tokenServer?: RegistryTokenServer,
  ) {}

  static async start(o: OciRegistryOptions = {}): Promise<OciRegistry> {
    const bin = registryBinary();
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-oci-"));
    const cert = await selfSignedCert();
    writeFileSync(path.join(dir, "cert.pem"), cert.cert);
    writeFileSync(path.join(dir, "key.pem"), cert.key);
    writeFileSync(path.join(dir, "htpasswd"), HTPASSWD);
    mkdirSync(path.join(dir, "data"));
    const port = await freePort();
    const tokenServer = o.auth === "token" ? await RegistryTokenServer.start(dir, o.realm) : undefined;
    const auth = tokenServer
      ? `auth: { token: { realm: "${tokenServer.realm}", service: ${TOKEN_SERVICE}, issuer: ${TOKEN_ISSUER}, rootcertbundle: ${path.join(dir, "cert.pem")} } }`
      : `auth: { htpasswd: { realm: charts, path: ${path.join(dir, "htpasswd")} } }`;
    writeFileSync(
      path.join(dir, "config.yml"),
      `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${path.join(dir, "data")} }, delete: { enabled: true } }
http: { addr: 127.0.0.1:${port}, tls: { certificate: ${path.join(dir, "cert.pem")}, key: ${path.join(dir, "key.pem")} } }
${auth}
`,
    );
    const proc = spawn(bin, ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "", HOME: dir, OTEL_TRACES_EXPORTER: "none" } });
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const reg = new OciRegistry(proc, port, cert.cert, dir, tokenServer);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`the registry exited (${proc.exitCode}): ${stderr}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (up) break;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`the registry did not listen on ${port} within 30 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // helm logs in once; its registry config lives in the registry's temporary directory. Not with an http:// realm:
    // helm (oras-go) refuses it for a registry reached over HTTPS, so no chart can be pushed there either.
    if (o.realm?.scheme !== "http") helmOk(["registry", "login", `127.0.0.1:${port}`, "--username", REGISTRY_USER, "--password", REGISTRY_PASSWORD, "--ca-file", path.join(dir, "cert.pem")], { env: reg.helmEnv() });
    return reg;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** oci://127.0.0.1:<port>/charts: a HelmRepository's url. */
  get url(): string {
    return `oci://${this.host}/charts`;
  }

  private helmEnv(): NodeJS.ProcessEnv {
    return { HELM_REGISTRY_CONFIG: path.join(this.dir, "registry.json") };
  }

  /** Packages a chart with `helm package` and pushes it with `helm push` to oci://…/charts. */
  push(chart: ChartSpec): void {
    const src = path.join(this.dir, "work", `${chart.name}-${chart.version}`, chart.name);
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "Chart.yaml"), `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version}\n`);
    for (const [rel, text] of Object.entries(chart.files ?? {})) {
      mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      writeFileSync(path.join(src, rel), text);
    }
    const out = path.join(this.dir, "packages");
    helmOk(["package", src, "--destination", out]);
    helmOk(["push", path.join(out, `${chart.name}-${chart.version}.tgz`), this.url, "--ca-file", path.join(this.dir, "cert.pem")], { env: this.helmEnv() });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    }
    await this.tokenServer?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

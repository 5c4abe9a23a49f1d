// A real OCI registry on loopback for tests: the CNCF distribution registry (`registry`, built by `make tools` from
// hack/tools/registry), over TLS with a self-signed certificate and htpasswd basic auth, filesystem storage in a
// temporary directory. Charts are pushed with the pinned `helm push`, as a publisher would. A missing binary fails
// the test (never skips).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

export class OciRegistry {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    readonly ca: string,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OciRegistry> {
    const bin = registryBinary();
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-oci-"));
    const cert = await selfSignedCert();
    writeFileSync(path.join(dir, "cert.pem"), cert.cert);
    writeFileSync(path.join(dir, "key.pem"), cert.key);
    writeFileSync(path.join(dir, "htpasswd"), HTPASSWD);
    mkdirSync(path.join(dir, "data"));
    const port = await freePort();
    writeFileSync(
      path.join(dir, "config.yml"),
      `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${path.join(dir, "data")} }, delete: { enabled: true } }
http: { addr: 127.0.0.1:${port}, tls: { certificate: ${path.join(dir, "cert.pem")}, key: ${path.join(dir, "key.pem")} } }
auth: { htpasswd: { realm: charts, path: ${path.join(dir, "htpasswd")} } }
`,
    );
    const proc = spawn(bin, ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "", HOME: dir, OTEL_TRACES_EXPORTER: "none" } });
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const reg = new OciRegistry(proc, port, cert.cert, dir);
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
    // helm logs in once; its registry config lives in the registry's temporary directory.
    helmOk(["registry", "login", `127.0.0.1:${port}`, "--username", REGISTRY_USER, "--password", REGISTRY_PASSWORD, "--ca-file", path.join(dir, "cert.pem")], { env: reg.helmEnv() });
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}

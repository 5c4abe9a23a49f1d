// Network faults through a real TCP proxy: Toxiproxy (github.com/Shopify/toxiproxy, built by `make tools` from the
// committed wrapper module hack/tools/toxiproxy at the version in hack/versions.env). The test starts its own
// toxiproxy-server on a free loopback port and drives it over its HTTP API: a proxy per link (operator → API server,
// operator → git server), and toxics on them — latency, bandwidth, timeout (data dropped: a half-open connection),
// reset_peer (TCP RST), limit_data (the connection closed after N bytes: a reset mid-pack or mid-watch) — or the
// proxy disabled (connections refused and the open ones closed).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { freePort } from "./operator.js";

const CACHE = process.env.MOORING_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mooring");
export const TOXIPROXY_BIN = path.join(CACHE, "bin", "toxiproxy-server");

export type Stream = "upstream" | "downstream";

export interface Toxic {
  name?: string;
  type: "latency" | "bandwidth" | "slow_close" | "timeout" | "reset_peer" | "slicer" | "limit_data";
  stream?: Stream;
  toxicity?: number;
  attributes: Record<string, number>;
}

export class Proxy {
  constructor(
    private readonly tp: Toxiproxy,
    readonly name: string,
    /** host:port the proxy listens on. */
    readonly listen: string,
    readonly upstream: string,
  ) {}

  get port(): number {
    return Number(this.listen.split(":").pop());
  }

  /** Adds a toxic; returns its name (to remove it). */
  async add(t: Toxic): Promise<string> {
    const name = t.name ?? `${t.type}_${t.stream ?? "downstream"}_${Math.random().toString(36).slice(2, 8)}`;
    await this.tp.api("POST", `/proxies/${this.name}/toxics`, { name, type: t.type, stream: t.stream ?? "downstream", toxicity: t.toxicity ?? 1, attributes: t.attributes });
    return name;
  }

  /**
   * Removes a toxic. Toxiproxy 2.12 may hang removing a toxic whose connection is already gone (fixed upstream
   * later): after a bounded wait the whole proxy is recreated on the same address instead.
   */
  async remove(toxic: string): Promise<void> {
    try {
      await this.tp.api("DELETE", `/proxies/${this.name}/toxics/${toxic}`, undefined, 5_000);
    } catch {
      await this.reset();
    }
  }

  /** Removes every toxic and enables the proxy (recreating it on the same address). */
  async reset(): Promise<void> {
    await this.tp.api("DELETE", `/proxies/${this.name}`, undefined, 5_000).catch(() => {});
    await this.tp.api("POST", "/proxies", { name: this.name, listen: this.listen, upstream: this.upstream, enabled: true });
  }

  /** Disabled: the listener is closed and every open connection dropped (connection refused until enabled). */
  async enable(on: boolean): Promise<void> {
    await this.tp.api("POST", `/proxies/${this.name}`, { enabled: on });
  }

  /** Runs `body` with the toxic in place, removing it afterwards whatever happens. */
  async with<T>(t: Toxic, body: () => Promise<T>): Promise<T> {
    const name = await this.add(t);
    try {
      return await body();
    } finally {
      await this.remove(name);
    }
  }
}

export class Toxiproxy {
  private constructor(
    private readonly child: ChildProcess,
    readonly apiUrl: string,
    private log: string[],
  ) {}

  /** Starts toxiproxy-server on a free loopback port (fails with the reason when it is not built). */
  static async start(): Promise<Toxiproxy> {
    const port = await freePort();
    const log: string[] = [];
    const child = spawn(TOXIPROXY_BIN, ["-host", "127.0.0.1", "-port", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    const keep = (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 200) log.splice(0, 100);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const failed = new Promise<Error>((resolve) => child.once("error", (err) => resolve(new Error(`cannot run ${TOXIPROXY_BIN} (build it with 'make tools'): ${err.message}`))));
    const tp = new Toxiproxy(child, `http://127.0.0.1:${port}`, log);
    for (const deadline = Date.now() + 20_000; ; ) {
      const err = await Promise.race([failed, sleep(100).then(() => undefined)]);
      if (err) throw err;
      try {
        const res = await fetch(`${tp.apiUrl}/version`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok) return tp;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`toxiproxy-server did not answer on ${tp.apiUrl}: ${log.join("")}`);
    }
  }

  async api(method: string, p: string, body?: unknown, timeoutMs = 10_000): Promise<unknown> {
    const res = await fetch(`${this.apiUrl}${p}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${p}: HTTP ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** A proxy to `upstream` (host:port) on a free loopback port. */
  async proxy(name: string, upstream: string): Promise<Proxy> {
    const listen = `127.0.0.1:${await freePort()}`;
    await this.api("POST", "/proxies", { name, listen, upstream, enabled: true });
    return new Proxy(this, name, listen, upstream);
  }

  logs(): string {
    return this.log.join("");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  }
}

/**
 * A copy of `kubeconfigPath` whose cluster server goes through `proxy` (same scheme and certificates: the API
 * server's certificate names 127.0.0.1, which the proxy also listens on). Returns the new file's path.
 */
export function kubeconfigThrough(kubeconfigPath: string, proxy: Proxy, outDir: string): { path: string; upstream: string } {
  const kc = parseYaml(readFileSync(kubeconfigPath, "utf8")) as { clusters: { cluster: { server: string } }[] };
  const server = new URL(kc.clusters[0]!.cluster.server);
  const upstream = `${server.hostname}:${server.port || (server.protocol === "https:" ? "443" : "80")}`;
  for (const c of kc.clusters) c.cluster.server = `${server.protocol}//127.0.0.1:${proxy.port}`;
  const out = path.join(outDir, `kubeconfig-${proxy.name}.yaml`);
  writeFileSync(out, toYaml(kc));
  return { path: out, upstream };
}

/** host:port of the API server a kubeconfig names. */
export function apiServerAddress(kubeconfigPath: string): string {
  const kc = parseYaml(readFileSync(kubeconfigPath, "utf8")) as { clusters: { cluster: { server: string } }[] };
  const server = new URL(kc.clusters[0]!.cluster.server);
  return `${server.hostname}:${server.port || (server.protocol === "https:" ? "443" : "80")}`;
}

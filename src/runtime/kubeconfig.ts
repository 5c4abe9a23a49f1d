// Loading a kubeconfig without @kubernetes/client-node: that library costs ~70 MiB of RSS at import, while all the
// runtime needs from it is "which server, which TLS material, which Authorization header". This covers what
// operators meet in practice: files (KUBECONFIG lists merged like kubectl), inline and file-based certificates,
// tokens and token files, basic auth, exec credential plugins, and the in-cluster ServiceAccount.
// Paths inside a kubeconfig are relative to that file, as kubectl reads them.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { clusterOf, dataOrFile, parseKubeconfig, str, unseen, userOf } from "./kubeconfig-file.js";

export interface KubeCluster {
  name: string;
  server: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  interactiveMode?: string;
}

export interface KubeUser {
  name: string;
  clientCertificate?: string;
  clientCertificateData?: string;
  clientKey?: string;
  clientKeyData?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  authProvider?: { name: string; config?: Record<string, string> };
  impersonate?: string;
  impersonateGroups?: string[];
}

export interface KubeContext {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
}

/** TLS settings for node:https, resolved from the current cluster and user. */
export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Something that can export a kubeconfig as JSON/YAML text: client-node's KubeConfig has `exportConfig()`. */
export interface ExportableKubeConfig {
  exportConfig(): string;
}

const IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string; clientCertificateData?: string; clientKeyData?: string };
}

export class KubeConfig {
  readonly clusters: KubeCluster[] = [];
  readonly users: KubeUser[] = [];
  readonly contexts: KubeContext[] = [];
  currentContext = "";
  private execCache?: { key: string; expires: number; cred: ExecCredential["status"] };
  private execRun?: { key: string; promise: Promise<ExecCredential["status"]> };

  /** Reads KUBECONFIG (a list of files, merged the way kubectl merges them), else ~/.kube/config, else in-cluster. */
  static fromDefault(env: NodeJS.ProcessEnv = process.env): KubeConfig {
    const list = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
    if (list.length) return KubeConfig.fromFiles(list);
    const home = path.join(env.HOME ?? os.homedir(), ".kube", "config");
    try {
      return KubeConfig.fromFile(home);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (env.KUBERNETES_SERVICE_HOST) return KubeConfig.inCluster(env);
    throw new Error(`no kubeconfig: KUBECONFIG is unset, ${home} does not exist and this is not a Pod (KUBERNETES_SERVICE_HOST unset)`);
  }

  static fromFile(file: string): KubeConfig {
    return KubeConfig.fromFiles([file]);
  }

  /** Merges several files: for every cluster, user and context name, and for current-context, the first file wins. */
  static fromFiles(files: string[]): KubeConfig {
    const kc = new KubeConfig();
    let read = 0;
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (err) {
        // kubectl skips missing entries of a KUBECONFIG list, but not a file named on its own.
        if (files.length > 1 && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      kc.merge(text, path.dirname(path.resolve(file)), file);
      read++;
    }
    if (!read) throw Object.assign(new Error(`none of the kubeconfig files exists: ${files.join(", ")}`), { code: "ENOENT" });
    return kc;
  }

  /** From kubeconfig text (YAML or JSON); relative paths resolve against `baseDir`. */
  static fromString(text: string, baseDir = process.cwd()): KubeConfig {
    const kc = new KubeConfig();
    kc.merge(text, baseDir, "(text)");
    return kc;
  }

  /** Our own KubeConfig as is; client-node's (or anything with exportConfig) converted. */
  static from(kc: KubeConfig | ExportableKubeConfig): KubeConfig {
    if (kc instanceof KubeConfig) return kc;
    return KubeConfig.fromString(kc.exportConfig());
  }

  /** The Pod's own ServiceAccount: token file (re-read as it rotates), CA and namespace from the mounted secret. */
  static inCluster(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): KubeConfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    if (!host) throw new Error("not running in a Pod: KUBERNETES_SERVICE_HOST is unset");
    const kc = new KubeConfig();
    let namespace: string | undefined;
    try {
      namespace = readFileSync(path.join(dir, "namespace"), "utf8").trim();
    } catch {
      namespace = undefined;
    }
    const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    kc.clusters.push({ name: "in-cluster", server, certificateAuthority: path.join(dir, "ca.crt") });
    kc.users.push({ name: "in-cluster", tokenFile: path.join(dir, "token") });
    kc.contexts.push({ name: "in-cluster", cluster: "in-cluster", user: "in-cluster", namespace });
    kc.currentContext = "in-cluster";
    return kc;
  }

  /** Adds a file's clusters, users and contexts; as kubectl does, the first file to name one wins. */
  private merge(text: string, baseDir: string, source: string): void {
    const doc = parseKubeconfig(text, source);
    for (const [name, e] of unseen(doc.clusters, this.clusters)) if (e.cluster) this.clusters.push(clusterOf(name, e.cluster as Record<string, unknown>, baseDir));
    for (const [name, e] of unseen(doc.users, this.users)) this.users.push(userOf(name, (e.user ?? {}) as Record<string, any>, baseDir));
    for (const [name, e] of unseen(doc.contexts, this.contexts)) {
      const c = (e.context ?? {}) as Record<string, unknown>;
      this.contexts.push({ name, cluster: str(c.cluster) ?? "", user: str(c.user) ?? "", namespace: str(c.namespace) });
    }
    if (!this.currentContext) this.currentContext = str(doc["current-context"]) ?? "";
  }

  context(name = this.currentContext): KubeContext | undefined {
    return this.contexts.find((c) => c.name === name);
  }

  /** Switches context; throws naming the contexts there are when `name` is not one of them. */
  useContext(name: string): void {
    if (!this.context(name)) throw new Error(`context "${name}" is not in the kubeconfig; choose one of: ${this.contexts.map((c) => c.name).join(", ") || "(none)"}`);
    this.currentContext = name;
  }

  /** The current context's cluster, or undefined when there is none (or it has no server). */
  get cluster(): KubeCluster | undefined {
    const ctx = this.context();
    const c = ctx ? this.clusters.find((x) => x.name === ctx.cluster) : undefined;
    return c?.server ? c : undefined;
  }

  get user(): KubeUser | undefined {
    const ctx = this.context();
    return ctx ? this.users.find((u) => u.name === ctx.user) : undefined;
  }

  get namespace(): string | undefined {
    return this.context()?.namespace;
  }

  /** The current cluster, or an error saying what to fix. */
  requireCluster(): KubeCluster {
    const c = this.cluster;
    if (c) return c;
    if (!this.currentContext) throw new Error("the kubeconfig has no current-context; set one (kubectl config use-context)");
    throw new Error(`the kubeconfig's context "${this.currentContext}" names no cluster with a server`);
  }

  /** CA, client certificate and key for node:https, read now (files are read once: connections are kept alive). */
  tlsOptions(): TlsOptions {
    const c = this.requireCluster();
    const u = this.user;
    const o: TlsOptions = {};
    const ca = dataOrFile(c.certificateAuthorityData, c.certificateAuthority, "certificate-authority");
    if (ca) o.ca = ca;
    const cert = dataOrFile(u?.clientCertificateData, u?.clientCertificate, "client-certificate");
    const key = dataOrFile(u?.clientKeyData, u?.clientKey, "client-key");
    if (cert) o.cert = cert;
    if (key) o.key = key;
    if (c.insecureSkipTlsVerify) o.rejectUnauthorized = false;
    if (c.tlsServerName) o.servername = c.tlsServerName;
    return o;
  }

  /** The headers that authenticate a request as the current user (reads token files and runs exec plugins). */
  async authHeaders(): Promise<Record<string, string | string[]>> {
    const u = this.user;
    const h: Record<string, string | string[]> = {};
    if (!u) return h;
    if (u.impersonate) h["Impersonate-User"] = u.impersonate;
    if (u.impersonateGroups?.length) h["Impersonate-Group"] = u.impersonateGroups;
    // As client-go: a token file (re-read as it rotates) takes precedence over an inline token.
    if (u.tokenFile) h.Authorization = `Bearer ${readFileSync(u.tokenFile, "utf8").trim()}`;
    else if (u.token) h.Authorization = `Bearer ${u.token}`;
    else if (u.exec) {
      const cred = await this.runExec(u.exec);
      if (cred?.token) h.Authorization = `Bearer ${cred.token}`;
    } else if (u.authProvider) {
      // client-node writes its in-cluster user as the "tokenFile" auth provider; oidc sends its id-token (refreshing
      // an expired one is not done here); gcp and azure were removed from kubectl in 1.26 in favour of exec plugins.
      const cfg = u.authProvider.config ?? {};
      if (u.authProvider.name === "tokenFile" && cfg.tokenFile) h.Authorization = `Bearer ${readFileSync(cfg.tokenFile, "utf8").trim()}`;
      else if (u.authProvider.name === "oidc" && cfg["id-token"]) h.Authorization = `Bearer ${cfg["id-token"]}`;
      else if (cfg["access-token"]) h.Authorization = `Bearer ${cfg["access-token"]}`;
      else throw new Error(`kubeconfig user "${u.name}" uses the auth-provider "${u.authProvider.name}", which is not supported; use an exec credential plugin`);
    } else if (u.username !== undefined && u.password !== undefined) {
      h.Authorization = "Basic " + Buffer.from(`${u.username}:${u.password}`).toString("base64");
    }
    return h;
  }

  /** Forgets credentials from exec plugins (after a 401: client-go then asks the plugin again). */
  forgetCredentials(): void {
    this.execCache = undefined;
  }

  /**
   * Runs an exec credential plugin, reusing its answer until it expires (or for 10 minutes when it sets no expiry).
   * Concurrent callers share one run: at start-up every informer asks at once.
   */
  private runExec(exec: ExecConfig): Promise<ExecCredential["status"]> {
    const key = JSON.stringify(exec);
    if (this.execCache?.key === key && this.execCache.expires > Date.now()) return Promise.resolve(this.execCache.cred);
    if (this.execRun?.key === key) return this.execRun.promise;
    const promise = this.execOnce(exec, key).finally(() => {
      if (this.execRun?.promise === promise) this.execRun = undefined;
    });
    this.execRun = { key, promise };
    return promise;
  }

  private async execOnce(exec: ExecConfig, key: string): Promise<ExecCredential["status"]> {
    const now = Date.now();
    const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false } }) };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(exec.command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1 << 20 }, (err, out, stderr) => {
        if (!err) return resolve(out);
        // Never Node's own message: it repeats the command line, whose arguments may hold a client secret.
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        const why = e.killed ? "timed out after 60 s" : e.code === "ENOENT" ? "not found on PATH" : typeof e.code === "number" ? `exited with code ${e.code}` : String(e.code ?? "failed to start");
        const last = stderr.trim().split("\n").slice(-1)[0];
        reject(new Error(`kubeconfig exec plugin ${exec.command} failed (${why})${last ? `: ${last}` : ""}`));
      });
    });
    let cred: ExecCredential;
    try {
      cred = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new Error(`kubeconfig exec plugin ${exec.command} printed no ExecCredential JSON`);
    }
    if (!cred.status?.token && !cred.status?.clientCertificateData) throw new Error(`kubeconfig exec plugin ${exec.command} returned neither a token nor a client certificate`);
    const expiry = cred.status.expirationTimestamp ? Date.parse(cred.status.expirationTimestamp) - 30_000 : now + 600_000;
    this.execCache = { key, expires: expiry, cred: cred.status };
    return cred.status;
  }

  /** The client certificate an exec plugin hands out (read once, when connections are set up). */
  async execTls(): Promise<Pick<TlsOptions, "cert" | "key"> | undefined> {
    const exec = this.user?.exec;
    if (!exec) return undefined;
    const cred = await this.runExec(exec);
    if (!cred?.clientCertificateData || !cred.clientKeyData) return undefined;
    return { cert: Buffer.from(cred.clientCertificateData), key: Buffer.from(cred.clientKeyData) };
  }

  /** The kubeconfig as YAML-compatible JSON (what `exportConfig` gives with client-node). */
  exportConfig(): string {
    return JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": this.currentContext,
      clusters: this.clusters.map((c) => ({
        name: c.name,
        cluster: { server: c.server, "certificate-authority": c.certificateAuthority, "certificate-authority-data": c.certificateAuthorityData, "insecure-skip-tls-verify": c.insecureSkipTlsVerify || undefined, "tls-server-name": c.tlsServerName },
      })),
      users: this.users.map((u) => ({
        name: u.name,
        user: {
          "client-certificate": u.clientCertificate,
          "client-certificate-data": u.clientCertificateData,
          "client-key": u.clientKey,
          "client-key-data": u.clientKeyData,
          token: u.token,
          tokenFile: u.tokenFile,
          username: u.username,
          password: u.password,
          as: u.impersonate,
          "as-groups": u.impersonateGroups,
          exec: u.exec,
          "auth-provider": u.authProvider,
        },
      })),
      contexts: this.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user, namespace: c.namespace } })),
    });
  }
}

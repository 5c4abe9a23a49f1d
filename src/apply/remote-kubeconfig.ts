// Reading the kubeconfig of a remote cluster from an Application's Secret (spec.kubeConfig.secretRef), and refusing
// what a kubeconfig may do in the operator's process but a tenant must not make it do:
//   - file paths (certificate-authority, client-certificate, client-key, tokenFile): they would be read from the
//     operator's own file system — its ServiceAccount token is a file; a tenant could borrow the operator's identity;
//   - exec plugins: a tenant would run a program of its choosing in the operator's Pod (Flux refuses them unless
//     --insecure-kubeconfig-exec; the image has no cloud credential plugins, so there is no opt-in here);
//   - auth-providers (the legacy form of plugins; gcp and azure left kubectl in 1.26), and insecure-skip-tls-verify
//     (Flux: --insecure-kubeconfig-tls), and a server URL with a user name or password in it.
// Every message names the Secret and the field, never a value of it: the kubeconfig holds credentials.
import { createHash } from "node:crypto";
import { KUBECONFIG_KEYS } from "../api/application.js";
import { KubeConfig } from "../runtime/kubeconfig.js";

/** Why a Secret gives no usable kubeconfig: the reason is a condition reason (Reasons.kubeConfig*). */
export class KubeConfigProblem extends Error {
  constructor(
    readonly reason: "KubeConfigNotFound" | "KubeConfigInvalid",
    message: string,
  ) {
    super(message);
  }
}

/** A kubeconfig read from a Secret: the parsed config and the identity of the cluster and credentials it names. */
export interface RemoteKubeConfig {
  kubeConfig: KubeConfig;
  /** sha256 of the kubeconfig text: Applications whose Secrets hold the same kubeconfig share one cache. */
  key: string;
  /** The API server's URL (no credentials in it). */
  server: string;
}

/** The Secret's key holding the kubeconfig: `key` when set, else the first of value, value.yaml present. */
export function kubeConfigText(secret: string, data: Record<string, string> | undefined, key: string | undefined): string {
  const present = Object.keys(data ?? {}).sort();
  const chosen = key ?? KUBECONFIG_KEYS.find((k) => data?.[k] !== undefined);
  const encoded = chosen === undefined ? undefined : data?.[chosen];
  if (encoded === undefined) {
    const wanted = key ? `key '${key}' (spec.kubeConfig.secretRef.key)` : `key '${KUBECONFIG_KEYS[0]}' or '${KUBECONFIG_KEYS[1]}'`;
    throw new KubeConfigProblem("KubeConfigNotFound", `Secret ${secret} has no ${wanted} (its keys: ${present.join(", ") || "none"}); put the remote cluster's kubeconfig there or set spec.kubeConfig.secretRef.key`);
  }
  const text = Buffer.from(encoded, "base64").toString("utf8");
  if (!text.trim()) throw new KubeConfigProblem("KubeConfigInvalid", `the kubeconfig in Secret ${secret} (key '${chosen}') is empty`);
  return text;
}

/** Parses and checks a remote kubeconfig; throws KubeConfigProblem saying what to fix. */
export function parseRemoteKubeConfig(secret: string, text: string): RemoteKubeConfig {
  const invalid = (what: string) => new KubeConfigProblem("KubeConfigInvalid", `the kubeconfig in Secret ${secret} ${what}`);
  let kc: KubeConfig;
  try {
    kc = KubeConfig.fromString(text, "/nonexistent");
  } catch (err) {
    // The loader's messages quote no text of the file (only the first line of the YAML error: its position).
    throw invalid(`cannot be read: ${(err as Error).message.replace(/^kubeconfig \(text\) /, "")}`);
  }
  if (!kc.currentContext) throw invalid("has no current-context; set one (kubectl config use-context) before storing it");
  const ctx = kc.context();
  if (!ctx) throw invalid(`names current-context "${kc.currentContext}", which is not among its contexts`);
  const cluster = kc.cluster;
  if (!cluster) throw invalid(`has no cluster with a server for context "${ctx.name}"`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw invalid(`has a server address for cluster "${cluster.name}" that is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid(`has a server address for cluster "${cluster.name}" that is not http(s)`);
  if (url.username || url.password) throw invalid(`has a user name or password in the server address of cluster "${cluster.name}"; put credentials in the user entry`);
  const refused: string[] = [];
  if (cluster.certificateAuthority) refused.push(`cluster "${cluster.name}": certificate-authority (a file path; use certificate-authority-data)`);
  if (cluster.insecureSkipTlsVerify) refused.push(`cluster "${cluster.name}": insecure-skip-tls-verify (give certificate-authority-data instead)`);
  const u = kc.user;
  if (u) {
    if (u.clientCertificate) refused.push(`user "${u.name}": client-certificate (a file path; use client-certificate-data)`);
    if (u.clientKey) refused.push(`user "${u.name}": client-key (a file path; use client-key-data)`);
    if (u.tokenFile) refused.push(`user "${u.name}": tokenFile (a file path; use token)`);
    if (u.exec) refused.push(`user "${u.name}": exec (credential plugins are not run for remote clusters; use a token or a client certificate)`);
    if (u.authProvider) refused.push(`user "${u.name}": auth-provider (not run for remote clusters; use a token or a client certificate)`);
  }
  if (refused.length) throw invalid(`uses what is refused for remote clusters: ${refused.join("; ")}`);
  return { kubeConfig: kc, key: createHash("sha256").update(text).digest("hex"), server: `${url.protocol}//${url.host}` };
}

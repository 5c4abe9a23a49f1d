// Reading a kubeconfig document (src/runtime/kubeconfig.ts loads and merges them): its entries as typed values,
// paths resolved against the file's directory as kubectl resolves them, and errors that quote none of its text.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { KubeCluster, KubeUser } from "./kubeconfig.js";

/** A kubeconfig file's document: a mapping, or an error that quotes none of its text. */
export function parseKubeconfig(text: string, source: string): Record<string, any> {
  let doc: Record<string, any>;
  try {
    doc = (parse(text) ?? {}) as Record<string, any>;
  } catch (err) {
    // Only the first line: the rest of yaml's message quotes the offending line, which may hold a token.
    throw new Error(`kubeconfig ${source} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`kubeconfig ${source} is not a mapping`);
  return doc;
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A path in a kubeconfig, resolved against the file's directory. */
function abs(p: unknown, baseDir: string): string | undefined {
  return typeof p === "string" && p ? path.resolve(baseDir, p) : undefined;
}

export function clusterOf(name: string, c: Record<string, unknown>, baseDir: string): KubeCluster {
  return {
    name,
    server: str(c.server) ?? "",
    certificateAuthority: abs(c["certificate-authority"], baseDir),
    certificateAuthorityData: str(c["certificate-authority-data"]),
    insecureSkipTlsVerify: c["insecure-skip-tls-verify"] === true,
    tlsServerName: str(c["tls-server-name"]),
  };
}

export function userOf(name: string, u: Record<string, any>, baseDir: string): KubeUser {
  const exec = u.exec as Record<string, any> | undefined;
  const provider = u["auth-provider"] as Record<string, any> | undefined;
  return {
    name,
    clientCertificate: abs(u["client-certificate"], baseDir),
    clientCertificateData: str(u["client-certificate-data"]),
    clientKey: abs(u["client-key"], baseDir),
    clientKeyData: str(u["client-key-data"]),
    token: str(u.token),
    tokenFile: abs(u.tokenFile ?? u["token-file"], baseDir),
    username: str(u.username),
    password: str(u.password),
    impersonate: str(u.as),
    impersonateGroups: Array.isArray(u["as-groups"]) ? u["as-groups"].map(String) : undefined,
    exec: exec
      ? {
          // A bare command name is looked up on PATH; a path with a slash is relative to the kubeconfig.
          command: String(exec.command ?? "").includes("/") ? path.resolve(baseDir, String(exec.command)) : String(exec.command ?? ""),
          args: Array.isArray(exec.args) ? exec.args.map(String) : undefined,
          env: Array.isArray(exec.env) ? exec.env.map((e: { name: string; value: string }) => ({ name: String(e.name), value: String(e.value) })) : undefined,
          apiVersion: str(exec.apiVersion),
          interactiveMode: str(exec.interactiveMode),
        }
      : undefined,
    authProvider: provider ? { name: String(provider.name ?? ""), config: provider.config as Record<string, string> | undefined } : undefined,
  };
}

/** The named entries of a kubeconfig list whose name is not in `seen` yet (read as the loop pushes to it). */
export function* unseen(list: unknown, seen: readonly { name: string }[]): Generator<[string, Record<string, any>]> {
  for (const entry of asList(list)) {
    const name = str(entry.name);
    if (name && !seen.some((x) => x.name === name)) yield [name, entry];
  }
}

function asList(v: unknown): Record<string, any>[] {
  return Array.isArray(v) ? v.filter((e): e is Record<string, any> => typeof e === "object" && e !== null) : [];
}

export function dataOrFile(data: string | undefined, file: string | undefined, what: string): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the kubeconfig's ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

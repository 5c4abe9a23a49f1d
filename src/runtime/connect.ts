// One-off callers (start-up checks, CRD installation, tests) may hold a RestClient, our KubeConfig or client-node's;
// this gives them a RestClient either way, and says whether they must close it.
import type { ExportableKubeConfig, KubeConfig } from "./kubeconfig.js";
import { RestClient } from "./rest.js";

export type Connection = RestClient | KubeConfig | ExportableKubeConfig;

/** Runs `fn` with a RestClient for `conn`, closing it afterwards when it was made here. */
export async function withRest<T>(conn: Connection, fn: (rest: RestClient) => Promise<T>): Promise<T> {
  if (conn instanceof RestClient) return await fn(conn);
  const rest = RestClient.fromKubeConfig(conn, { qps: 50, burst: 100 });
  try {
    return await fn(rest);
  } finally {
    rest.close();
  }
}

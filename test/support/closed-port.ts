// An API server that is not there: a loopback port just closed, and a kubeconfig naming it. Every request fails to
// connect, which lets unit tests drive a module's refusal and fallback paths without faking an API server.
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

/** A loopback port nothing listens on (the kernel's choice, closed again at once). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A kubeconfig file (in a new temporary directory named with `prefix`) whose server is a closed port. */
export async function closedPortKubeconfig(prefix: string, user: Record<string, string> = {}): Promise<{ file: string; port: number }> {
  const port = await closedPort();
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), prefix)), "kubeconfig");
  const config = { apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${port}` } }], users: [{ name: "u", user }], contexts: [{ name: "x", context: { cluster: "c", user: "u" } }], "current-context": "x" };
  writeFileSync(file, JSON.stringify(config));
  return { file, port };
}

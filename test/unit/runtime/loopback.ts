// Helpers for unit tests that run the runtime's RestClient against a loopback HTTP server speaking just enough of
// the Kubernetes API (lists and watch streams) for the case under test.
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "../../../src/runtime/kubeconfig.js";

/** A kubeconfig for a plain-HTTP server listening on 127.0.0.1. */
export function loopbackKubeConfig(server: http.Server): KubeConfig {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return KubeConfig.fromString(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: url } }],
      users: [{ name: "u", user: {} }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    }),
  );
}

export function listen(server: http.Server): Promise<void> {
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r()));
}

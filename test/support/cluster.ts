// The real local cluster for integration and end-to-end tests: one per test run.
// `make test`/`make integration` start it once (hack/with-cluster.sh) and export MOORING_TEST_KUBECONFIG;
// a test file run on its own starts (or reuses) the same cluster itself and stops it at exit if it started it.
// A cluster that cannot be reached is a failing test with the reason, never a skip.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as k8s from "@kubernetes/client-node";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_CLUSTER_NAME = process.env.MOORING_TEST_CLUSTER ?? "mooring-test";

export interface TestCluster {
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  objects: k8s.KubernetesObjectApi;
}

function clusterScript(...args: string[]): string {
  return execFileSync("bash", [path.join(REPO_ROOT, "hack/cluster.sh"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

let pending: Promise<TestCluster> | undefined;

async function connect(): Promise<TestCluster> {
  let kubeconfigPath = process.env.MOORING_TEST_KUBECONFIG;
  if (!kubeconfigPath) {
    let startedHere = false;
    try {
      startedHere = clusterScript("status", TEST_CLUSTER_NAME) !== "running";
    } catch {
      startedHere = true;
    }
    try {
      kubeconfigPath = clusterScript("up", TEST_CLUSTER_NAME).split("\n").pop()!;
    } catch (err) {
      throw new Error(`the local test cluster could not be started (hack/cluster.sh up ${TEST_CLUSTER_NAME}): ${(err as Error).message}`);
    }
    if (startedHere) process.once("exit", () => { try { clusterScript("down", TEST_CLUSTER_NAME); } catch { /* best effort at exit */ } });
    process.env.MOORING_TEST_KUBECONFIG = kubeconfigPath;
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster: TestCluster = {
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
  try {
    await kc.makeApiClient(k8s.VersionApi).getCode();
  } catch (err) {
    throw new Error(`the test cluster at ${kc.getCurrentCluster()?.server} (kubeconfig ${kubeconfigPath}) is not reachable: ${(err as Error).message}; run 'make cluster-down' and retry`);
  }
  return cluster;
}

/** The shared test cluster, connected once per process. Throws (failing the test) when it is unavailable. */
export function testCluster(): Promise<TestCluster> {
  pending ??= connect();
  return pending;
}

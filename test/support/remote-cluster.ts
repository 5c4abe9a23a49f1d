// A second local cluster for tests of Applications that target a remote cluster (spec.kubeConfig): the test cluster
// (./cluster.ts) is the hub the operator runs against; this one is the remote. Named by MOORING_TEST_REMOTE_CLUSTER,
// else "<test cluster>-remote"; started (or reused) by hack/cluster.sh and stopped at exit when started here.
// Like the test cluster, one that cannot be started fails the test; it is never skipped.
import { execFileSync } from "node:child_process";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT, TEST_CLUSTER_NAME } from "./cluster.js";

export const REMOTE_CLUSTER_NAME = process.env.MOORING_TEST_REMOTE_CLUSTER ?? `${TEST_CLUSTER_NAME}-remote`;

export interface RemoteCluster {
  name: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  /** The kubeconfig with every certificate and key inline (what a Secret must hold: file paths are refused). */
  inlineKubeconfig: string;
  /** The kubeconfig as kwokctl wrote it: certificate and key as file paths. */
  fileKubeconfig: string;
}

function clusterScript(...args: string[]): string {
  return execFileSync("bash", [path.join(REPO_ROOT, "hack/cluster.sh"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

let pending: Promise<RemoteCluster> | undefined;

async function start(): Promise<RemoteCluster> {
  const name = REMOTE_CLUSTER_NAME;
  let startedHere = false;
  try {
    startedHere = clusterScript("status", name) !== "running";
  } catch {
    startedHere = true;
  }
  let kubeconfigPath: string;
  try {
    kubeconfigPath = clusterScript("up", name).split("\n").pop()!;
  } catch (err) {
    throw new Error(`the remote test cluster could not be started (hack/cluster.sh up ${name}): ${(err as Error).message}`);
  }
  if (startedHere) process.once("exit", () => { try { clusterScript("down", name); } catch { /* best effort at exit */ } });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const view = (...extra: string[]) => execFileSync("kubectl", ["config", "view", "--raw", `--kubeconfig=${kubeconfigPath}`, ...extra], { encoding: "utf8" });
  const remote: RemoteCluster = {
    name,
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    inlineKubeconfig: view("--flatten"),
    fileKubeconfig: view(),
  };
  try {
    await kc.makeApiClient(k8s.VersionApi).getCode();
  } catch (err) {
    throw new Error(`the remote test cluster ${name} (kubeconfig ${kubeconfigPath}) is not reachable: ${(err as Error).message}`);
  }
  return remote;
}

/** The remote test cluster, started once per process. Throws (failing the test) when it is unavailable. */
export function remoteCluster(): Promise<RemoteCluster> {
  pending ??= start();
  return pending;
}

// Installing Mooring's CRDs from code (the operator's --install-crds, the tests): server-side apply of the
// generated CRDs under one field manager, forced (the CRDs are Mooring's own), then wait until each is
// Established and served. Idempotent: applying the same CRDs again changes nothing.
import * as k8s from "@kubernetes/client-node";
import { setTimeout as sleep } from "node:timers/promises";
import { FieldManagers } from "./constants.js";
import { allCrds } from "./crd.js";

export interface InstallCrdsOptions {
  /** How long to wait for the CRDs to be Established and served (default 30s). */
  timeoutMs?: number;
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string }[] };
}

/** Applies every Mooring CRD and waits until the API server serves them. Returns the CRD names. */
export async function installCrds(kc: k8s.KubeConfig, opts: InstallCrdsOptions = {}): Promise<string[]> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const crds = allCrds() as unknown as Crd[];
  for (const crd of crds) {
    try {
      await ext.patchCustomResourceDefinition(
        { name: crd.metadata.name, body: crd, fieldManager: FieldManagers.crds, force: true },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
      );
    } catch (err) {
      const detail = err instanceof k8s.ApiException ? `HTTP ${err.code}: ${String(err.body)}` : (err as Error).message;
      throw new Error(`applying CRD ${crd.metadata.name} failed (${detail}); check that the identity in use may patch customresourcedefinitions`, { cause: err });
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const crd of crds) {
    let last = "not read yet";
    for (;;) {
      try {
        const live = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
        const established = live.status?.conditions?.find((c) => c.type === "Established");
        last = established ? `Established=${established.status} (${established.message ?? ""})` : "no Established condition";
        if (established?.status === "True") {
          // Established comes a moment before the resource is served: list it once to be sure.
          await custom.listClusterCustomObject({ group: crd.spec.group, version: crd.spec.versions[0]!.name, plural: crd.spec.names.plural, limit: 1 });
          break;
        }
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() >= deadline) throw new Error(`CRD ${crd.metadata.name} was applied but is not served yet: ${last}`);
      await sleep(200);
    }
  }
  return crds.map((c) => c.metadata.name);
}

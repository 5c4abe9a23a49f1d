// Installing Mooring's CRDs from code (the operator's --install-crds, the tests): server-side apply of the
// generated CRDs under one field manager, forced (the CRDs are Mooring's own), then wait until each is
// Established and served. Idempotent: applying the same CRDs again changes nothing.
import { setTimeout as sleep } from "node:timers/promises";
import { type Connection, withRest } from "../runtime/connect.js";
import { ApiError, type RestClient } from "../runtime/rest.js";
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
export async function installCrds(conn: Connection, opts: InstallCrdsOptions = {}): Promise<string[]> {
  return await withRest(conn, (rest) => install(rest, opts));
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

async function install(rest: RestClient, opts: InstallCrdsOptions): Promise<string[]> {
  const crds = allCrds() as unknown as Crd[];
  for (const crd of crds) {
    try {
      await rest.request("PATCH", `${CRD_PATH}/${crd.metadata.name}`, {
        query: { fieldManager: FieldManagers.crds, force: true },
        body: crd,
        contentType: "application/apply-patch+yaml",
      });
    } catch (err) {
      const detail = err instanceof ApiError ? `HTTP ${err.code}: ${err.status.message ?? err.message}` : (err as Error).message;
      throw new Error(`applying CRD ${crd.metadata.name} failed (${detail}); check that the identity in use may patch customresourcedefinitions`, { cause: err });
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const crd of crds) {
    let last = "not read yet";
    for (;;) {
      try {
        const live = await rest.request<{ status?: { conditions?: { type: string; status: string; message?: string }[] } }>("GET", `${CRD_PATH}/${crd.metadata.name}`);
        const established = live.status?.conditions?.find((c) => c.type === "Established");
        last = established ? `Established=${established.status} (${established.message ?? ""})` : "no Established condition";
        if (established?.status === "True") {
          // Established comes a moment before the resource is served: list it once to be sure.
          await rest.request("GET", `/apis/${crd.spec.group}/${crd.spec.versions[0]!.name}/${crd.spec.names.plural}`, { query: { limit: 1 } });
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

// The artifact storage and address as the operator's flags set them: the source and render controllers share one
// storage root (and so one artifact server) in a process, so both open it the same way.
import type { OperatorConfig } from "../config.js";
import { ArtifactStorage } from "./storage.js";

/** The address other controllers use to download this process's artifacts (the Service name in a cluster). */
export function advertisedArtifactAddr(config: Pick<OperatorConfig, "advertisedArtifactAddr" | "artifactAddr">): string {
  return config.advertisedArtifactAddr ?? `localhost:${config.artifactAddr.slice(config.artifactAddr.lastIndexOf(":") + 1)}`;
}

/** The storage under --storage-path, with --keep-artifacts (or `keep`) and --max-storage-size, initialised. */
export async function openArtifactStorage(config: Pick<OperatorConfig, "storagePath" | "keepArtifacts" | "maxStorageBytes">, keep = config.keepArtifacts): Promise<ArtifactStorage> {
  const storage = new ArtifactStorage({ root: config.storagePath, ...(keep ? { keep } : {}), ...(config.maxStorageBytes ? { maxBytes: config.maxStorageBytes } : {}) });
  await storage.init();
  return storage;
}

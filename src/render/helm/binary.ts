// Where the Go-template chart renderer finds its programs: the pinned `helm` (v3, the engine) and `mooring-helm`
// (our small Go driver from hack/tools/mooring-helm, which runs helm under a memory limit and a deadline and prints
// its documents as JSON). The image ships both in /usr/local/bin; `make tools` builds both into ~/.cache/mooring/bin.
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RenderError } from "../errors.js";

/** The Helm version the renderer is built and tested against (hack/versions.env HELM_VERSION; a unit test checks). */
export const PINNED_HELM_VERSION = "v3.22.0";

/** The image's helm (the Dockerfile puts it there; `--helm-binary` / MOORING_HELM_BINARY default to it). */
export const IMAGE_HELM_BINARY = "/usr/local/bin/helm";

export interface HelmPrograms {
  helm: string;
  /** mooring-helm, when found: the fast path. Without it helm runs directly and its YAML is parsed in Node. */
  driver?: string;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `~/.cache/mooring/bin` (MOORING_CACHE, XDG_CACHE_HOME honoured): where `make tools` puts the pinned binaries. */
export function toolCacheBin(): string {
  const cache = process.env.MOORING_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "mooring");
  return path.join(cache, "bin");
}

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, name);
    if (executable(p)) return p;
  }
  return undefined;
}

const found = new Map<string, HelmPrograms>();

/**
 * The helm binary: `explicit` (the render option, from --helm-binary), else $MOORING_HELM_BINARY, else the pinned
 * one in the tool cache, else `helm` on PATH. mooring-helm: next to that helm, else in the tool cache, else on
 * PATH. The answer is remembered per process.
 */
export function findHelm(explicit?: string): HelmPrograms {
  const key = `${explicit ?? ""}\0${process.env.MOORING_HELM_BINARY ?? ""}\0${process.env.PATH ?? ""}`;
  const hit = found.get(key);
  if (hit) return hit;
  const wanted = explicit || process.env.MOORING_HELM_BINARY;
  let helm: string | undefined;
  if (wanted) {
    if (!executable(wanted)) {
      throw new RenderError(
        `the helm binary ${wanted} (${explicit ? "--helm-binary" : "MOORING_HELM_BINARY"}) does not exist or is not executable; Go-template charts are rendered by Helm ${PINNED_HELM_VERSION}`,
      );
    }
    helm = wanted;
  } else {
    const cached = path.join(toolCacheBin(), "helm");
    helm = executable(cached) ? cached : onPath("helm");
  }
  if (!helm) {
    throw new RenderError(
      `helm is not installed: Go-template charts are rendered by Helm ${PINNED_HELM_VERSION}; run 'make tools' (it builds the pinned helm into ${toolCacheBin()}), put helm on PATH, or set --helm-binary`,
    );
  }
  const driver = [path.join(path.dirname(helm), "mooring-helm"), path.join(toolCacheBin(), "mooring-helm")].find(executable) ?? onPath("mooring-helm");
  const programs = { helm, driver };
  found.set(key, programs);
  return programs;
}

const versions = new Map<string, string>();

/**
 * The version of the helm that renders Go-template charts (`helm version`), for the render cache key: a different
 * helm may print different objects for the same chart. "none" when no helm is found (a Go chart then fails anyway).
 */
export function helmVersion(explicit?: string): string {
  let helm: string;
  try {
    helm = findHelm(explicit).helm;
  } catch {
    return "none";
  }
  const hit = versions.get(helm);
  if (hit) return hit;
  const r = spawnSync(helm, ["version", "--template", "{{.Version}}+{{.GitCommit}}"], { timeout: 10_000, env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/nonexistent", HELM_NO_PLUGINS: "1" } });
  const v = r.status === 0 ? r.stdout.toString("utf8").trim().replace(/\+$/, "") : "";
  const out = v ? `helm ${v}` : `${helm} (version unknown)`;
  if (v) versions.set(helm, out);
  return out;
}

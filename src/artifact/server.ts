// The artifact HTTP server: read-only, by exact path only. No directory listing, no path traversal (`..`,
// encoded or not), no dotfiles (temp files of in-progress writes), GET and HEAD only, and only files named as
// storage names artifacts: `<sha256>.<random token><ext>` (./storage.ts), so a URL cannot be derived from an
// artifact's content or guessed; it is known only to those who read it from a status. Shared by the source and
// render controllers; consumers verify the digest they were given in status. Every refusal is the same 404.
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Logger } from "../log.js";
import { isArtifactName } from "./storage.js";

export interface ArtifactServerOptions {
  /** The storage root to serve. */
  root: string;
  logger?: Logger;
}

const CONTENT_TYPES: Record<string, string> = {
  ".tar.gz": "application/gzip",
  ".tgz": "application/gzip",
  ".json": "application/json",
  ".yaml": "application/yaml",
};

function contentType(name: string): string {
  for (const [ext, type] of Object.entries(CONTENT_TYPES)) if (name.endsWith(ext)) return type;
  return "application/octet-stream";
}

/** Maps a request path to a file path under root, or undefined when it is not a servable name. */
export function resolveRequestPath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith("/") || decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const parts = decoded.slice(1).split("/");
  if (parts.length === 0 || parts.some((p) => p === "" || p === "." || p === ".." || p.startsWith("."))) return undefined;
  if (!isArtifactName(parts[parts.length - 1]!)) return undefined;
  const abs = path.resolve(root, ...parts);
  if (!abs.startsWith(path.resolve(root) + path.sep)) return undefined;
  return abs;
}

export function artifactHandler(opts: ArtifactServerOptions): http.RequestListener {
  const rootPromise = realpath(opts.root).catch(() => path.resolve(opts.root));
  return (req, res) => {
    const send = (status: number, text: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...extra });
      res.end(req.method === "HEAD" ? undefined : text + "\n");
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed", { allow: "GET, HEAD" });
    const urlPath = (req.url ?? "/").split("?")[0]!;
    const serve = async () => {
      const root = await rootPromise;
      const abs = resolveRequestPath(root, urlPath);
      if (!abs) return send(404, "not found");
      let st;
      let real: string;
      try {
        real = await realpath(abs);
        st = await stat(real);
      } catch {
        return send(404, "not found");
      }
      // A symlink planted in storage must not lead outside it (nor to a file not named as an artifact); directories
      // are never listed.
      if (!real.startsWith(root + path.sep) || !st.isFile() || !isArtifactName(path.basename(real))) return send(404, "not found");
      res.writeHead(200, {
        "content-type": contentType(real),
        "content-length": String(st.size),
        "last-modified": st.mtime.toUTCString(),
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      });
      if (req.method === "HEAD") return res.end();
      const stream = createReadStream(real);
      stream.on("error", (err) => {
        opts.logger?.warn("artifact read failed", { path: urlPath, error: err.message });
        res.destroy(err);
      });
      stream.pipe(res);
    };
    serve().catch((err: unknown) => {
      opts.logger?.error("artifact server error", { path: urlPath, error: (err as Error).message });
      if (!res.headersSent) send(500, "internal error");
      else res.destroy();
    });
  };
}

export interface RunningServer {
  server: http.Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Listens on `addr` ("host:port", ":port", port 0 for any) and serves artifacts from `opts.root`. */
export async function startArtifactServer(addr: string, opts: ArtifactServerOptions): Promise<RunningServer> {
  return listenHttp(addr, artifactHandler(opts));
}

/** Starts an http server on "host:port"; resolves once listening. Shared by the artifact and webhook servers. */
export async function listenHttp(addr: string, handler: http.RequestListener): Promise<RunningServer> {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i) || "0.0.0.0";
  const port = Number(addr.slice(i + 1));
  const server = http.createServer(handler);
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

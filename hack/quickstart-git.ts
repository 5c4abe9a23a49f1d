// A loopback git server for the quickstart (hack/quickstart.sh): `git http-backend` (the CGI that ships with git)
// behind Node's http server, serving every bare repository under --root over smart HTTP, read-only, until
// SIGINT/SIGTERM. Usage: tsx hack/quickstart-git.ts --root DIR [--port 19418] [--host 127.0.0.1]
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import zlib from "node:zlib";
import { relayCgiResponse } from "./lib/cgi.js";

const { values } = parseArgs({ options: { root: { type: "string" }, port: { type: "string", default: "19418" }, host: { type: "string", default: "127.0.0.1" } } });
if (!values.root) {
  console.error("quickstart-git: --root DIR (a directory of bare repositories) is required");
  process.exit(2);
}
const root = path.resolve(values.root);
const backend = path.join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  // Read-only: clients may fetch, never push (the quickstart pushes to the bare repository on disk).
  if (url.pathname.endsWith("/git-receive-pack") || url.searchParams.get("service") === "git-receive-pack") {
    res.writeHead(403, { "content-type": "text/plain" }).end("this server is read-only; push to the repository on disk\n");
    return;
  }
  const child = spawn(backend, [], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const body = req.headers["content-encoding"] === "gzip" ? req.pipe(zlib.createGunzip()) : req;
  body.pipe(child.stdin);
  child.stdin.on("error", () => {});
  res.on("close", () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  child.on("error", () => {
    if (!res.headersSent) res.writeHead(500).end("cannot run git http-backend\n");
  });
  relayCgiResponse(child.stdout, res, () => "git http-backend failed\n");
});

server.on("error", (err: NodeJS.ErrnoException) => {
  console.error(
    err.code === "EADDRINUSE"
      ? `quickstart-git: port ${values.port} is in use; set MOORING_QUICKSTART_GIT_PORT to another one`
      : `quickstart-git: cannot serve ${root}: ${err.message}`,
  );
  process.exit(1);
});
server.listen(Number(values.port), values.host, () => {
  console.error(`quickstart-git: serving ${root} at http://${values.host}:${values.port}/`);
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

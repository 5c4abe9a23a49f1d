// Relays a CGI program's output (headers, a blank line, then the body) as an HTTP response: the one piece of
// `git http-backend` plumbing shared by the quickstart's git server and the tests' git server.
import type http from "node:http";
import type { Readable } from "node:stream";

/** Pipes `stdout` of a CGI child into `res`; `failure()` is the 502 body when the child ends before any header. */
export function relayCgiResponse(stdout: Readable, res: http.ServerResponse, failure: () => string): void {
  let head = Buffer.alloc(0);
  let headersDone = false;
  stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      if (!res.write(chunk)) {
        stdout.pause();
        res.once("drain", () => stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf("\r\n\r\n");
    const sep = crlf >= 0 ? crlf : head.indexOf("\n\n");
    if (sep < 0) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, sep).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    const rest = head.subarray(sep + (crlf >= 0 ? 4 : 2));
    if (rest.length) res.write(rest);
  });
  stdout.on("end", () => {
    if (!headersDone) res.writeHead(502, { "content-type": "text/plain" }).end(failure());
    else res.end();
  });
}

// A git server that misbehaves on purpose: an HTTP proxy in front of test/support/git-server.ts whose answers a test
// switches at will — every request failed with a status, the connection reset, the ref advertisement replaced by
// garbage, the pack replaced by random bytes, corrupted inside a well-framed answer (bytes flipped in the pack data
// of its side-band pkt-lines, so the protocol parses and only the pack is wrong), or cut off halfway.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

export type GitFault =
  | { kind: "none" }
  | { kind: "status"; status: number }
  | { kind: "reset" }
  | { kind: "garbage-refs" }
  | { kind: "garbage-pack" }
  | { kind: "corrupt-pack" }
  | { kind: "truncated-pack" };

/** Flips bytes in the pack data of a side-band-64k upload-pack answer, keeping the pkt-line framing valid. */
export function corruptSideBand(body: Buffer): Buffer {
  const out = Buffer.from(body);
  let p = 0;
  let flipped = 0;
  let packBytes = 0;
  while (p + 4 <= out.length) {
    const len = parseInt(out.toString("latin1", p, p + 4), 16);
    if (!Number.isFinite(len) || len < 4) {
      p += 4; // flush (0000) or delimiter
      continue;
    }
    const band = out[p + 4];
    if (band === 1) {
      // Pack data: leave the 12-byte PACK header alone, then flip a byte every ~97 bytes.
      for (let i = p + 5; i < p + len; i++) {
        if (packBytes > 12 && (packBytes - 12) % 97 === 50) {
          out[i] = out[i]! ^ 0x5a;
          flipped++;
        }
        packBytes++;
      }
    }
    p += len;
  }
  if (!flipped) throw new Error("no pack data to corrupt in the answer");
  return out;
}

export class GitFaultProxy {
  fault: GitFault = { kind: "none" };
  /** Requests answered with a fault so far. */
  faulted = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly upstream: URL,
  ) {}

  static async start(upstreamBaseUrl: string): Promise<GitFaultProxy> {
    const server = http.createServer();
    const p = new GitFaultProxy(server, new URL(upstreamBaseUrl));
    server.on("request", (req, res) => p.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return p;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(repo: string): string {
    return `${this.baseUrl}/${repo}.git`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const f = this.fault;
    const isPack = (req.url ?? "").includes("git-upload-pack") && req.method === "POST";
    const isRefs = (req.url ?? "").includes("/info/refs");
    if (f.kind === "status") {
      this.faulted++;
      req.resume();
      res.writeHead(f.status, { "content-type": "text/plain" }).end(`failing on purpose with ${f.status}\n`);
      return;
    }
    if (f.kind === "reset") {
      this.faulted++;
      req.socket.destroy();
      return;
    }
    if (f.kind === "garbage-refs" && isRefs) {
      this.faulted++;
      req.resume();
      res.writeHead(200, { "content-type": "application/x-git-upload-pack-advertisement" }).end(randomBytes(700));
      return;
    }
    const upstreamReq = http.request(
      { host: this.upstream.hostname, port: this.upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: this.upstream.host } },
      (up) => {
        const mangle = isPack && (f.kind === "garbage-pack" || f.kind === "corrupt-pack" || f.kind === "truncated-pack");
        if (!mangle) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        up.on("data", (d: Buffer) => parts.push(d));
        up.on("end", () => {
          this.faulted++;
          const body = Buffer.concat(parts);
          const headers = { ...up.headers };
          delete headers["content-length"];
          delete headers["transfer-encoding"];
          if (f.kind === "garbage-pack") {
            res.writeHead(200, headers).end(randomBytes(Math.max(1024, body.length)));
          } else if (f.kind === "corrupt-pack") {
            res.writeHead(200, headers).end(corruptSideBand(body));
          } else {
            // Half the answer, then the connection closes without the end of the chunked body.
            res.writeHead(200, headers);
            res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
          }
        });
      },
    );
    upstreamReq.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstreamReq);
  }
}

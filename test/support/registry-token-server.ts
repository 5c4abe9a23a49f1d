// The Docker token API (https://distribution.github.io/distribution/spec/auth/token/) for the test registry, run as
// a process of its own by ./helm-registry.ts (RegistryTokenServer). On loopback HTTPS with the registry's certificate
// ($TOKEN_SERVER_DIR/cert.pem, key.pem): GET /token?service=…&scope=… with $TOKEN_USER/$TOKEN_PASSWORD as basic
// credentials gets a JWT granting every scope it asked for; without credentials, an anonymous token granting
// nothing; with wrong ones, a 401. The JWT is RS256-signed with the registry's key and carries its certificate in
// `x5c`, which the registry's `rootcertbundle` trusts. GET /requests lists what it answered (for the tests).
// With $TOKEN_SERVER_PLAIN=1 it serves plain HTTP instead (a misconfigured token service: clients must not send it
// credentials). Prints "listening <port>" once it listens.
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import path from "node:path";
import type { TokenRequest } from "./helm-registry.js";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`registry-token-server: ${k} is not set`);
  return v;
};
const dir = env("TOKEN_SERVER_DIR");
const key = readFileSync(path.join(dir, "key.pem"), "utf8");
const cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
const [service, issuer, validUser, validPassword] = [env("TOKEN_SERVICE"), env("TOKEN_ISSUER"), env("TOKEN_USER"), env("TOKEN_PASSWORD")];
const x5c = new X509Certificate(cert).raw.toString("base64");
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const requests: TokenRequest[] = [];

const answer: http.RequestListener = (req, res) => {
  const u = new URL(req.url ?? "/", "https://127.0.0.1");
  if (u.pathname === "/requests") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(requests));
    return;
  }
  if (u.pathname !== "/token") {
    res.writeHead(404).end();
    return;
  }
  const scopes = u.searchParams.getAll("scope");
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
  const [user, password] = m ? Buffer.from(m[1]!, "base64").toString("utf8").split(/:(.*)/s) : [];
  const record = (status: number) => requests.push({ service: u.searchParams.get("service"), scopes, ...(user !== undefined ? { user } : {}), status });
  if (user !== undefined && (user !== validUser || password !== validPassword)) {
    record(401);
    res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
    return;
  }
  // scope = <type>:<name>:<actions>; the name may hold ':' (a registry host with a port), the actions do not.
  const access =
    user === undefined
      ? []
      : scopes.map((sc) => {
          const rest = sc.slice(sc.indexOf(":") + 1);
          return { type: sc.slice(0, sc.indexOf(":")), name: rest.slice(0, rest.lastIndexOf(":")), actions: rest.slice(rest.lastIndexOf(":") + 1).split(",") };
        });
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, sub: user ?? "", aud: service, exp: now + 300, nbf: now - 5, iat: now, jti: randomBytes(8).toString("hex"), access };
  const signing = `${b64url({ alg: "RS256", typ: "JWT", x5c: [x5c] })}.${b64url(claims)}`;
  const token = `${signing}.${createSign("RSA-SHA256").update(signing).sign(key).toString("base64url")}`;
  record(200);
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
};
const server = process.env.TOKEN_SERVER_PLAIN === "1" ? http.createServer(answer) : https.createServer({ key, cert }, answer);

server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as net.AddressInfo).port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));

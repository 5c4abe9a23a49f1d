// Credentials for a GitRepository, read from the Secret named by spec.secretRef: `username`+`password` (basic auth)
// or `bearerToken`, and optionally `ca.crt`. The values only ever become request headers and a TLS CA; they are
// never logged or put into an error message.
import { SourceError } from "./errors.js";

export interface Credentials {
  basic?: { username: string; password: string };
  bearerToken?: string;
  /** PEM CA bundle for https URLs. */
  caCert?: string;
}

/**
 * Builds credentials from a Secret's `data` (base64 values, as the API returns them). `undefined` data means the
 * Secret does not exist. `secretName` is only used in messages.
 */
export function credentialsFromSecret(data: Record<string, string> | undefined, secretName: string): Credentials {
  if (data === undefined) {
    throw new SourceError("CredentialsInvalid", `Secret "${secretName}" named by spec.secretRef not found; create it or remove spec.secretRef`);
  }
  const get = (key: string): string | undefined => {
    const v = data[key];
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  const username = get("username");
  const password = get("password");
  const bearerToken = get("bearerToken");
  const caCert = get("ca.crt");
  const creds: Credentials = {};
  if (username !== undefined || password !== undefined) {
    if (!username || password === undefined) {
      const missing = !username ? "username" : "password";
      throw new SourceError("CredentialsInvalid", `Secret "${secretName}" has ${missing === "username" ? "password" : "username"} but no ${missing}; set both keys for basic auth`);
    }
    creds.basic = { username, password };
  }
  if (bearerToken !== undefined) {
    if (!bearerToken) throw new SourceError("CredentialsInvalid", `Secret "${secretName}" has an empty bearerToken`);
    if (creds.basic) throw new SourceError("CredentialsInvalid", `Secret "${secretName}" has both username/password and bearerToken; keep one`);
    creds.bearerToken = bearerToken;
  }
  if (caCert !== undefined) {
    if (!caCert.includes("-----BEGIN CERTIFICATE-----")) {
      throw new SourceError("CredentialsInvalid", `Secret "${secretName}" key ca.crt is not a PEM certificate`);
    }
    creds.caCert = caCert;
  }
  if (!creds.basic && !creds.bearerToken && !creds.caCert) {
    throw new SourceError("CredentialsInvalid", `Secret "${secretName}" has none of the keys username/password, bearerToken or ca.crt`);
  }
  return creds;
}

/** The Authorization header for these credentials, if any. */
export function authHeaders(creds: Credentials | undefined): Record<string, string> {
  if (creds?.bearerToken) return { authorization: `Bearer ${creds.bearerToken}` };
  if (creds?.basic) return { authorization: "Basic " + Buffer.from(`${creds.basic.username}:${creds.basic.password}`).toString("base64") };
  return {};
}

/** The secret strings to scrub from any text shown to users. */
export function secretValues(creds: Credentials | undefined): string[] {
  const out: string[] = [];
  if (creds?.basic) out.push(creds.basic.password, Buffer.from(`${creds.basic.username}:${creds.basic.password}`).toString("base64"));
  if (creds?.bearerToken) out.push(creds.bearerToken);
  return out;
}

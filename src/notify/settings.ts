// A Provider's settings as a delivery uses them: its spec plus the secrets of spec.secretRef (`address`, `token`).
// Pure: the Secret's data comes in, typed settings or a ProviderConfigError (with a condition reason) come out.
// Errors name the Secret and the key, never a value.
import { Reasons } from "../api/constants.js";
import { isHttpUrl, type Provider, type ProviderType } from "../api/notification.js";
import { parseDuration } from "../api/duration.js";

export interface ProviderSettings {
  type: ProviderType;
  /** Where to send (webhook URL, or the Git host's API base); undefined for a Git provider: derived from the repository. */
  address?: string;
  /** Whether `address` came from the Secret (then only its origin is ever shown). */
  addressFromSecret: boolean;
  token?: string;
  channel?: string;
  username?: string;
  timeoutMs: number;
  /** Every secret value, for redaction of anything shown (messages, logs, status). */
  secrets: string[];
}

export class ProviderConfigError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ProviderConfigError";
  }
}

const decode = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8").trim());

/** The settings of `provider`; `secretData` is the Secret's `data` (base64, as the API returns it), undefined when it does not exist. */
export function providerSettings(provider: Provider, secretData: Record<string, string> | undefined): ProviderSettings {
  const spec = provider.spec;
  const name = `Provider ${provider.metadata?.namespace ?? ""}/${provider.metadata?.name ?? ""}`;
  const ref = spec.secretRef?.name;
  let address = spec.address;
  let addressFromSecret = false;
  let token: string | undefined;
  if (ref) {
    if (secretData === undefined) throw new ProviderConfigError(Reasons.secretNotFound, `Secret "${ref}" named by ${name}'s spec.secretRef not found; create it (keys: address, token) or fix spec.secretRef`);
    const secretAddress = decode(secretData.address);
    token = decode(secretData.token) || undefined;
    if (secretAddress) {
      if (!isHttpUrl(secretAddress)) throw new ProviderConfigError(Reasons.invalidAddress, `the key "address" of Secret "${ref}" is not an http:// or https:// URL with a host; fix the Secret`);
      address = secretAddress;
      addressFromSecret = true;
    }
  }
  if (address !== undefined && !isHttpUrl(address)) throw new ProviderConfigError(Reasons.invalidAddress, `spec.address of ${name} is not an http:// or https:// URL with a host`);
  const needs = (what: string, ok: boolean, fix: string) => {
    if (!ok) throw new ProviderConfigError(ref ? Reasons.secretInvalid : Reasons.invalidSpec, `${name} (type ${spec.type}) needs ${what}; ${fix}`);
  };
  switch (spec.type) {
    case "generic":
    case "msteams":
    case "discord":
      needs("an address", !!address, "set spec.address, or the key address of its Secret");
      break;
    case "generic-hmac":
      needs("an address", !!address, "set spec.address, or the key address of its Secret");
      needs("an HMAC key", !!token, `set the key token of Secret "${ref ?? "(spec.secretRef)"}"`);
      break;
    case "slack":
      needs("an address (an incoming webhook URL) or a token (a bot token for chat.postMessage)", !!address || !!token, "set the key address or token of its Secret");
      needs("spec.channel to post with a token", !token || !!spec.channel, "set spec.channel");
      break;
    case "github":
    case "gitlab":
    case "gitea":
      needs("an API token", !!token, `set the key token of Secret "${ref ?? "(spec.secretRef)"}"`);
      break;
  }
  const secrets = [token, addressFromSecret ? address : undefined].filter((s): s is string => !!s);
  // The path of a secret webhook URL is the secret (Slack, Discord, Teams): redact it alone too.
  if (addressFromSecret && address) {
    const u = new URL(address);
    if (u.pathname.length > 1) secrets.push(u.pathname + u.search);
  }
  return {
    type: spec.type,
    ...(address ? { address } : {}),
    addressFromSecret,
    ...(token ? { token } : {}),
    ...(spec.channel ? { channel: spec.channel } : {}),
    ...(spec.username ? { username: spec.username } : {}),
    timeoutMs: parseDuration(spec.timeout ?? "15s"),
    secrets,
  };
}

/** `text` with every secret value replaced: what may be shown in a message, a log line or a status. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

/** Where a request goes, as it may be shown: scheme, host and port only (a webhook URL's path can be its secret). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}

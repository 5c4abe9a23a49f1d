// The source controller's failures as one typed error with a closed set of reasons, mapped to conditions in one
// place by the controller. `retryable` says whether polling again can help without a spec or Secret change.
export type SourceErrorReason =
  | "InvalidSpec" // spec.ref or spec.url cannot work as written
  | "CredentialsInvalid" // the Secret is missing or lacks the keys it needs
  | "AuthenticationFailed" // the server answered 401 or 403
  | "Unreachable" // connection refused, DNS failure, TLS failure, HTTP 5xx
  | "RefNotFound" // branch, tag, commit or ref name not on the remote; no tag matches a semver range
  | "EmptyRepository" // the remote has no refs at all
  | "Timeout" // spec.timeout elapsed
  | "SizeLimitExceeded" // the download grew past the configured limit
  | "InvalidTree" // the tree holds a path that cannot be archived safely (e.g. `..`)
  | "StorageFailed" // the artifact could not be written (disk full, permissions)
  | "FetchFailed"; // any other git or HTTP error

const NOT_RETRYABLE: ReadonlySet<SourceErrorReason> = new Set(["InvalidSpec", "InvalidTree"]);

export class SourceError extends Error {
  readonly reason: SourceErrorReason;
  constructor(reason: SourceErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SourceError";
    this.reason = reason;
  }

  /** False when only a change to the spec (or the repository's content) can fix it. */
  get retryable(): boolean {
    return !NOT_RETRYABLE.has(this.reason);
  }
}

export function isSourceError(err: unknown): err is SourceError {
  return err instanceof SourceError;
}

/**
 * Removes credentials from text that may reach a status condition or a log line: user-info in URLs and any of
 * the given secret values (a server may echo a token back in an error body).
 */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1");
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join("***");
  }
  return out;
}

/** Removes user-info from a URL so it can be shown; the original is kept only for the request. */
export function redactUrl(url: string): string {
  return scrub(url);
}

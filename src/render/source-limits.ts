// The limits a source artifact is downloaded and extracted under, and the error saying why one cannot be used.

export interface SourceLimits {
  /** Largest download (bytes of the tar.gz). Default 256 MiB. */
  maxDownloadBytes: number;
  /** Largest extracted tree (sum of file sizes). Default 1 GiB. */
  maxExtractedBytes: number;
  /** Most entries in the archive. Default 100,000. */
  maxEntries: number;
  /** Download deadline. Default 2 minutes. */
  timeoutMs: number;
}

export const DEFAULT_SOURCE_LIMITS: Readonly<SourceLimits> = Object.freeze({
  maxDownloadBytes: 256 * 1024 * 1024,
  maxExtractedBytes: 1024 * 1024 * 1024,
  maxEntries: 100_000,
  timeoutMs: 120_000,
});

/** Why a source artifact could not be used; `retryable` false means the same artifact will never work. */
export class SourceArtifactError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SourceArtifactError";
  }
}

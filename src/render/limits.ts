// Limits every renderer enforces, so a hostile or broken repository fails one Application's render with a clear
// message instead of exhausting the operator's memory or stack.

export interface RenderLimits {
  /** Largest single file read (bytes); checked with stat before reading. */
  maxFileBytes: number;
  /** Largest total of all files read in one render (bytes). */
  maxTotalBytes: number;
  /** YAML aliases allowed per document (billion-laughs protection). */
  maxAliasCount: number;
  /** Deepest nesting of maps/lists in a parsed document. */
  maxDepth: number;
  /** Most objects one render may produce. */
  maxObjects: number;
  /** Largest single object in canonical JSON (bytes); the API server refuses objects above ~1.5 MB. */
  maxObjectBytes: number;
  /** Largest whole output (bytes of the canonical JSON artifact; the apply controller refuses more than 128 MiB). */
  maxOutputBytes: number;
}

export const DEFAULT_LIMITS: Readonly<RenderLimits> = Object.freeze({
  maxFileBytes: 10 * 1024 * 1024,
  maxTotalBytes: 100 * 1024 * 1024,
  maxAliasCount: 100,
  maxDepth: 100,
  maxObjects: 20_000,
  maxObjectBytes: 1_500_000,
  maxOutputBytes: 128 * 1024 * 1024,
});

export function resolveLimits(partial?: Partial<RenderLimits>): RenderLimits {
  return { ...DEFAULT_LIMITS, ...(partial ?? {}) };
}

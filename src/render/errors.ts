// One error type for every renderer, so the controller can map any render failure to `Rendered=False` with a
// message that says where (file, line, template) without parsing strings.

export interface RenderErrorLocation {
  /** Path relative to the artifact root, with forward slashes. */
  file?: string;
  /** 1-based line in `file`, when the failure has one. */
  line?: number;
  /** Template name (helm renderer). */
  template?: string;
}

export class RenderError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly template?: string;

  constructor(message: string, where: RenderErrorLocation = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, where), options);
    this.name = "RenderError";
    this.file = where.file;
    this.line = where.line;
    this.template = where.template;
  }
}

function formatMessage(message: string, where: RenderErrorLocation): string {
  const at = where.file ? `${where.file}${where.line ? `:${where.line}` : ""}` : where.template;
  return at ? `${at}: ${message}` : message;
}

export function isRenderError(err: unknown): err is RenderError {
  return err instanceof RenderError;
}

// Structured logging for every Mooring process: JSON lines when stdout is not a terminal (collected by
// log pipelines), readable single lines on a terminal. Children carry context (controller, object, reconcileID).
import winston from "winston";

export type LogLevel = "error" | "warn" | "info" | "debug";
export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: LogLevel;
  /** Force the format; by default JSON unless stdout is a TTY. */
  format?: "json" | "text";
  /** Where to write (tests capture this); default: the console. */
  stream?: NodeJS.WritableStream;
}

// Keys whose values must never reach a log line, whatever object a caller passes in.
const SECRET_KEYS = /^(password|token|bearertoken|authorization|secret|privatekey|ca\.crt|data|stringdata)$/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = "[redacted]";
  }
  return info;
});

const text = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === "string")
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${fields ? " " + fields : ""}`;
});

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? "text" : "json");
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level: opts.level ?? "info",
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      format === "json" ? winston.format.json() : text,
    ),
    transports: [transport],
  });
}

let root: Logger | undefined;

/** The process-wide logger; `configureLogging` replaces it once flags are parsed. */
export function log(): Logger {
  root ??= createLogger({ level: (process.env.MOORING_LOG_LEVEL as LogLevel | undefined) ?? "info" });
  return root;
}

export function configureLogging(opts: LoggerOptions): Logger {
  root = createLogger(opts);
  return root;
}

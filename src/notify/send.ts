// One HTTP request to a receiver, and what its answer means: delivered, worth retrying (network errors, timeouts,
// 408, 429, 5xx), or refused (other 4xx, Slack's {"ok": false}). Messages say where (origin only), what came back
// (a short, redacted excerpt) and what to check; they never hold a secret.
import type { OutgoingRequest } from "./payload.js";
import { originOf, redact } from "./settings.js";
import { timeoutSignal } from "../runtime/timeout.js";

export type SendResult =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; message: string; status?: number; /** The receiver's Retry-After, when it sent one. */ retryAfterMs?: number };

const EXCERPT = 200;

function hint(status: number): string {
  if (status === 401 || status === 403) return "; check the token (or webhook URL) in the Provider's Secret and its permissions";
  if (status === 404) return "; check the address, and for a commit status that the repository and commit exist and the token can see them";
  if (status === 429) return "; the receiver is rate limiting";
  return "";
}

/** Sends `req` with a deadline of `timeoutMs`; never throws. `secrets` are redacted from anything returned. */
export async function send(req: OutgoingRequest, timeoutMs: number, secrets: readonly string[], signal?: AbortSignal): Promise<SendResult> {
  const where = originOf(req.url);
  let res: Response;
  const deadline = timeoutSignal(timeoutMs);
  try {
    // No redirects: a redirect could carry the Authorization header or the body to another host.
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, redirect: "manual", signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = deadline.aborted ? `no answer within ${timeoutMs / 1000}s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, retryable: true, message: redact(`could not reach ${where}: ${why}`, secrets) };
  }
  const text = await res.text().catch(() => "");
  const excerpt = redact(text.replace(/\s+/g, " ").trim().slice(0, EXCERPT), secrets);
  if (res.status >= 300 && res.status < 400) return { ok: false, retryable: false, status: res.status, message: `HTTP ${res.status} from ${where}: a redirect, which is not followed; use the final address` };
  if (res.ok) {
    // chat.postMessage answers 200 with {"ok": false, "error": "..."} when it refuses.
    if (req.url.includes("chat.postMessage") || res.headers.get("content-type")?.includes("json")) {
      const parsed = safeJson(text);
      if (parsed && parsed.ok === false) {
        const error = typeof parsed.error === "string" ? parsed.error : "unknown";
        return { ok: false, retryable: error === "ratelimited", status: res.status, message: redact(`Slack refused the message at ${where}: ${error}`, secrets) };
      }
    }
    return { ok: true, status: res.status };
  }
  // GitLab refuses to set a commit to the state it already has: it has that state, which is what was asked.
  if (res.status === 400 && /Cannot transition status/i.test(text)) return { ok: true, status: res.status };
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const retryAfterMs = retryable ? retryAfter(res.headers.get("retry-after"), Date.now()) : undefined;
  return { ok: false, retryable, status: res.status, message: `HTTP ${res.status} from ${where}${excerpt ? `: ${excerpt}` : ""}${hint(res.status)}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

/** A Retry-After header (RFC 9110: delay-seconds or an HTTP date) as milliseconds from `now`; undefined when absent or unreadable. */
export function retryAfter(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and has a time of day (IMF-fixdate and the two obsolete forms); Date.parse alone
  // would take "1.5" or "-5" for dates.
  if (!/[A-Za-z]{3}/.test(value) || !/\d{1,2}:\d{2}:\d{2}/.test(value)) return undefined;
  const at = Date.parse(/GMT$/.test(value) ? value : `${value} GMT`); // asctime has no zone: it is GMT
  // Whole seconds, as the header gives them (an HTTP date has no finer grain).
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000) * 1000);
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

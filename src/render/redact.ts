// Secret values kept out of render messages. An Application's Helm values (spec.render.helm.valuesFrom) and
// substitution variables (spec.render.substituteFrom) may come from Secrets, and a render failure may quote them: a
// chart's `{{ fail .Values.password }}`, a template error echoing a value, a substituted manifest that does not
// parse. The failure's message becomes the Rendered condition (status), an event and a log line, which many more
// people may read than the Secret. So the render controller collects the strings of every Secret it reads for an
// Application (SecretMask.add, addValues) and masks them in the outcome (SecretMask.outcome), in one place, before
// any log, event or status write: each value of the Secret, each string (and number) inside a values document, each
// line of a multi-line one (also as JSON escapes it), replaced by *** wherever it appears; and the start of a secret
// that a shortened message ("…") ends with. Strings shorter than MIN_SECRET_LENGTH are left alone. What a template
// makes of a value (b64enc, upper, a substring) is not recognised: messages are masked, not templates.
import type { RenderOutcome } from "./outcome.js";

export const MASK = "***";
/** Shorter strings are not masked: masking every "a", "on" or "80" would hide the message, not a secret. */
export const MIN_SECRET_LENGTH = 4;
/** What a shortened message ends with (src/render/helm/go.ts oneLine). */
const CUT = "…";

export class SecretMask {
  private readonly secrets = new Set<string>();

  /** The strings of a Secret's (decoded) data, each value whole and line by line. */
  add(data: Record<string, string>): void {
    for (const value of Object.values(data)) this.addString(value);
  }

  /** The strings and numbers inside a values document read from a Secret (as parsed). */
  addValues(values: unknown): void {
    const walk = (v: unknown): void => {
      if (typeof v === "string") this.addString(v);
      else if (typeof v === "number") this.addString(String(v));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(values);
  }

  /** The strings collected so far, longest first. */
  get strings(): string[] {
    return [...this.secrets].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  }

  /** `text` with every collected string replaced by ***. */
  redact(text: string): string {
    return redact(text, this.strings);
  }

  /** The outcome with its message redacted (the same object when there is nothing to mask). */
  outcome(o: RenderOutcome): RenderOutcome {
    if (!("message" in o) || this.secrets.size === 0) return o;
    const message = this.redact(o.message);
    return message === o.message ? o : { ...o, message };
  }

  /** The string, each line of it, and each as a JSON string spells it (messages quote with JSON.stringify). */
  private addString(s: string): void {
    for (const v of [s, ...s.split("\n").map((l) => l.trim())]) {
      if (v.length < MIN_SECRET_LENGTH) continue;
      this.secrets.add(v);
      this.secrets.add(JSON.stringify(v).slice(1, -1));
    }
  }
}

/** `text` with each of `secrets` (longest first, so a secret containing another goes whole) replaced by ***. */
export function redact(text: string, secrets: Iterable<string>): string {
  const all = [...secrets].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of all) out = out.split(s).join(MASK);
  if (!out.endsWith(CUT)) return out;
  // A message cut short may end in the middle of a secret: mask the start of it too.
  const body = out.slice(0, -CUT.length);
  for (const s of all) {
    for (let n = s.length - 1; n >= MIN_SECRET_LENGTH; n--) {
      if (body.endsWith(s.slice(0, n))) return `${body.slice(0, -n)}${MASK}${CUT}`;
    }
  }
  return out;
}

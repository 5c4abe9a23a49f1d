// A tiny element builder: h("a", { href: "#/" }, "Applications"). Attributes starting with "on" are listeners;
// false/undefined attributes and children are skipped, so conditions read inline.
type Child = Node | string | number | null | undefined | false | Child[];
type Attr = string | number | boolean | undefined | null | ((e: any) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, Attr> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function svg(tag: string, attrs: Record<string, string | number>, ...children: Node[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

function span(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** "3 min ago" (or "in 2 h"), for times in tables; the exact time is in the title. */
export function ago(iso: string, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  return s < 0 ? `in ${span(-s)}` : `${span(s)} ago`;
}

export function time(iso: string): HTMLElement {
  return h("time", { datetime: iso || undefined, title: iso || undefined }, ago(iso));
}

/** main@sha1:1a2b3c… → main@1a2b3c4d5e6f (what people read); the full revision is in the title. */
export function shortRevision(rev: string): string {
  const m = /^(.*)@sha1:([0-9a-f]{40})$/.exec(rev);
  if (m) return `${m[1]}@${m[2]!.slice(0, 12)}`;
  const d = /^(.*)@sha256:([0-9a-f]{64})$/.exec(rev);
  return d ? `${d[1]}@sha256:${d[2]!.slice(0, 12)}` : rev;
}

export function badge(text: string, tone: string, label?: string): HTMLElement {
  return h("span", { class: `badge ${tone}`, title: label }, text);
}

const TONES: Record<string, string> = {
  Synced: "ok",
  OutOfSync: "warn",
  Healthy: "ok",
  Progressing: "info",
  Degraded: "bad",
  Missing: "bad",
  Suspended: "muted",
  Unknown: "muted",
  True: "ok",
  False: "bad",
  Succeeded: "ok",
  Failed: "bad",
  Running: "info",
};

export const tone = (s: string): string => TONES[s] ?? "muted";

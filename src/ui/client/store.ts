// The page's copy of the server's rows, kept current by one EventSource (the server pushes; nothing polls).
import type { AppSummary, PolicyView, Problem, SourceView, StreamMessage, WhoAmI } from "../model.js";

export type Change = { apps: Set<string>; sources: boolean; policies: boolean; details: Set<string>; snapshot: boolean; problems: boolean };
type Listener = (c: Change) => void;

/** How long after a refused stream the page asks again (the server's own retry hint for lost connections is 2 s). */
const RECONNECT_MS = 2000;

export class Store {
  apps = new Map<string, AppSummary>();
  sources = new Map<string, SourceView>();
  policies = new Map<string, PolicyView>();
  problems: Problem[] = [];
  stream = "";
  connected = false;
  who: WhoAmI | undefined;
  private listeners = new Set<Listener>();
  private es: EventSource | undefined;

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  close(): void {
    this.es?.close();
    this.es = undefined;
  }

  connect(): void {
    this.es?.close();
    const es = new EventSource("/api/stream");
    this.es = es;
    es.onmessage = (e: MessageEvent<string>) => this.apply(JSON.parse(e.data) as StreamMessage);
    es.onerror = () => {
      // EventSource reconnects by itself after a lost connection (and the server sends a fresh snapshot); say so
      // meanwhile. An answer other than 200 (a 5xx while the server is busy) closes it for good: open it again
      // shortly, unless the page closed it meanwhile (no session: the sign-in form).
      this.connected = false;
      this.emit({ apps: new Set(), sources: false, policies: false, details: new Set(), snapshot: false, problems: true });
      if (es.readyState === EventSource.CLOSED) setTimeout(() => this.es === es && this.connect(), RECONNECT_MS);
    };
  }

  private apply(m: StreamMessage): void {
    this.connected = true;
    if (m.type === "snapshot") {
      performance.mark("mooring:snapshot");
      this.stream = m.stream;
      this.apps = new Map(m.apps.map((a) => [a.key, a]));
      this.sources = new Map(m.sources.map((s) => [s.key, s]));
      this.policies = new Map(m.policies.map((p) => [p.key, p]));
      this.problems = m.problems;
      this.emit({ apps: new Set(this.apps.keys()), sources: true, policies: true, details: new Set(this.apps.keys()), snapshot: true, problems: true });
      return;
    }
    const apps = new Set<string>();
    for (const a of m.apps) {
      this.apps.set(a.key, a);
      apps.add(a.key);
    }
    for (const k of m.appsDeleted) {
      this.apps.delete(k);
      apps.add(k);
    }
    for (const s of m.sources) this.sources.set(s.key, s);
    for (const k of m.sourcesDeleted) this.sources.delete(k);
    for (const p of m.policies) this.policies.set(p.key, p);
    for (const k of m.policiesDeleted) this.policies.delete(k);
    if (m.problems) this.problems = m.problems;
    this.emit({
      apps,
      sources: m.sources.length + m.sourcesDeleted.length > 0,
      policies: m.policies.length + m.policiesDeleted.length > 0,
      details: new Set([...m.details, ...apps]),
      snapshot: false,
      problems: m.problems !== undefined,
    });
  }

  private emit(c: Change): void {
    for (const l of this.listeners) l(c);
  }
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** fetch, JSON in and out; a non-2xx answer is an HttpProblem with the server's message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers: { Accept: "application/json", ...(init.method && init.method !== "GET" ? { "Content-Type": "application/json", "X-Requested-By": "mooring-ui" } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: "same-origin",
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string; message?: string };
  if (!res.ok && !(typeof body === "object" && body && "ok" in body)) throw new HttpProblem(res.status, body.error ?? body.message ?? `HTTP ${res.status}`);
  return body;
}

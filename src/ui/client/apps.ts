// The Applications page: counts by state, filters (search, namespace, label, sync, health), one row each.
// Rows are keyed: a change re-renders only its row, so 1,000 Applications stay responsive.
import { filtersFrom, matches, type Filters } from "../filters.js";
import type { AppSummary } from "../model.js";
import { badge, h, shortRevision, time, tone } from "./dom.js";
import type { Change, Store } from "./store.js";

const SYNCS = ["Synced", "OutOfSync", "Unknown"];
/** Rows drawn before the page first yields (more than a screen), then per chunk. */
const FIRST_ROWS = 100;
const CHUNK_ROWS = 200;
const HEALTHS = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];

function row(a: AppSummary): HTMLTableRowElement {
  const href = `#/apps/${encodeURIComponent(a.namespace)}/${encodeURIComponent(a.name)}`;
  return h(
    "tr",
    { "data-key": a.key, "data-sync": a.sync, "data-health": a.health },
    h("td", null, a.namespace),
    h("th", { scope: "row" }, h("a", { href }, a.name), a.suspended && badge("suspended", "muted")),
    h("td", null, badge(a.sync, tone(a.sync))),
    h("td", null, badge(a.health, tone(a.health))),
    h("td", { class: "mono", title: a.revision }, shortRevision(a.revision) || "—", a.commitSubject && h("div", { class: "commit", title: a.commitAuthor ? `by ${a.commitAuthor}` : undefined }, a.commitSubject), a.renderedRevision && a.renderedRevision !== a.revision ? h("div", { class: "sub", title: a.renderedRevision }, `rendered ${shortRevision(a.renderedRevision)}`) : null),
    h("td", null, a.lastSyncAt ? time(a.lastSyncAt) : "never", a.lastSyncPhase && h("div", { class: "sub" }, a.lastSyncPhase)),
    h("td", { class: "msg" }, a.message),
  );
}

export function appsPage(store: Store, params: URLSearchParams, setParams: (p: URLSearchParams) => void): { el: HTMLElement; update(c: Change): void } {
  const f = filtersFrom(params);
  const setFilter = (k: keyof Filters, v: string) => {
    f[k] = v;
    const p = new URLSearchParams();
    for (const [key, val] of Object.entries(f)) if (val) p.set(key, val);
    setParams(p);
    rebuild();
  };
  const search = h("input", { id: "f-q", type: "search", value: f.q, placeholder: "name, message, label…", oninput: (e: Event) => setFilter("q", (e.target as HTMLInputElement).value) });
  const label = h("input", { id: "f-label", type: "text", value: f.label, placeholder: "team=a,tier!=db", oninput: (e: Event) => setFilter("label", (e.target as HTMLInputElement).value) });
  const nsSelect = h("select", { id: "f-ns", onchange: (e: Event) => setFilter("ns", (e.target as HTMLSelectElement).value) });
  const select = (id: string, values: string[], cur: string, key: keyof Filters) =>
    h("select", { id, onchange: (e: Event) => setFilter(key, (e.target as HTMLSelectElement).value) }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v, selected: v === cur }, v)));
  const syncSel = select("f-sync", SYNCS, f.sync, "sync");
  const healthSel = select("f-health", HEALTHS, f.health, "health");
  const counts = h("div", { class: "counts", role: "group", "aria-label": "Counts by state (select to filter)" });
  const tbody = h("tbody");
  const shown = h("p", { class: "shown", "aria-live": "polite" });
  const table = h(
    "table",
    { class: "apps", "aria-describedby": "apps-shown" },
    h("caption", { class: "visually-hidden" }, "Applications"),
    h("thead", null, h("tr", null, ...["Namespace", "Name", "Sync", "Health", "Revision", "Last sync", "Message"].map((t) => h("th", { scope: "col" }, t)))),
    tbody,
  );
  shown.id = "apps-shown";
  const el = h(
    "section",
    { "aria-labelledby": "apps-title" },
    h("h1", { id: "apps-title" }, "Applications"),
    counts,
    h(
      "form",
      { class: "filters", role: "search", onsubmit: (e: Event) => e.preventDefault() },
      h("label", { for: "f-q" }, "Search"),
      search,
      h("label", { for: "f-ns" }, "Namespace"),
      nsSelect,
      h("label", { for: "f-label" }, "Labels"),
      label,
      h("label", { for: "f-sync" }, "Sync"),
      syncSel,
      h("label", { for: "f-health" }, "Health"),
      healthSel,
    ),
    shown,
    table,
  );
  const rows = new Map<string, HTMLTableRowElement>();

  function renderCounts(): void {
    const all = [...store.apps.values()];
    const n = (pred: (a: AppSummary) => boolean) => all.filter(pred).length;
    const chip = (text: string, count: number, key: keyof Filters, value: string) =>
      h("button", { type: "button", class: `chip ${tone(value)}`, "aria-pressed": String(f[key] === value), onclick: () => setFilter(key, f[key] === value ? "" : value) }, `${text} `, h("strong", null, String(count)));
    counts.replaceChildren(
      h("span", { class: "total" }, "Total ", h("strong", null, String(all.length))),
      ...SYNCS.map((s) => chip(s, n((a) => a.sync === s), "sync", s)),
      ...HEALTHS.map((s) => chip(s, n((a) => a.health === s), "health", s)),
    );
  }

  function renderNamespaces(): void {
    const names = [...new Set([...store.apps.values()].map((a) => a.namespace))].sort();
    if (f.ns && !names.includes(f.ns)) names.push(f.ns);
    nsSelect.replaceChildren(h("option", { value: "" }, "all"), ...names.map((n) => h("option", { value: n, selected: n === f.ns }, n)));
  }

  const sorted = () => [...store.apps.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  /** Keys that match the filters, in order; rows are rendered for a prefix of them (the rest follow in chunks). */
  let matched: string[] = [];
  let matchedSet = new Set<string>();
  let generation = 0;

  function renderShown(): void {
    const total = store.apps.size;
    shown.textContent = matched.length === total ? `${total} Application${total === 1 ? "" : "s"}` : `${matched.length} of ${total} Applications match the filters`;
  }

  /**
   * The first rows at once, the rest in chunks between which the browser handles input: the page is usable as soon
   * as the first screen is drawn, whatever the number of Applications.
   */
  function renderFrom(start: number, gen: number): void {
    if (gen !== generation) return;
    const end = Math.min(matched.length, start + (start === 0 ? FIRST_ROWS : CHUNK_ROWS));
    const frag = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      const a = store.apps.get(matched[i]!);
      if (!a) continue;
      const r = row(a);
      rows.set(a.key, r);
      frag.appendChild(r);
    }
    tbody.appendChild(frag);
    // Marks for bench/ui.ts, once the server's rows are here (the page first draws with none).
    if (start === 0 && store.stream) performance.mark("mooring:first-rows");
    if (end < matched.length) setTimeout(() => renderFrom(end, gen), 0);
    else if (store.stream) performance.mark("mooring:rows-complete");
  }

  function rebuild(): void {
    generation++;
    rows.clear();
    matched = sorted()
      .filter((a) => matches(a, f))
      .map((a) => a.key);
    matchedSet = new Set(matched);
    tbody.replaceChildren();
    if (matched.length === 0) tbody.appendChild(h("tr", null, h("td", { colspan: 7, class: "empty" }, store.apps.size ? "No Application matches the filters." : "No Applications yet.")));
    renderFrom(0, generation);
    renderCounts();
    renderNamespaces();
    renderShown();
  }

  function update(c: Change): void {
    if (c.snapshot) return rebuild();
    if (c.apps.size === 0) return;
    let structural = false;
    for (const key of c.apps) {
      const a = store.apps.get(key);
      const old = rows.get(key);
      if (a && matches(a, f)) {
        if (old) {
          const r = row(a);
          old.replaceWith(r);
          rows.set(key, r);
        } else if (!matchedSet.has(key)) structural = true; // else a chunk still to come renders it from the store
      } else if (matchedSet.has(key)) structural = true;
    }
    if (structural) return rebuild();
    renderCounts();
    renderShown();
  }

  rebuild();
  return { el, update };
}

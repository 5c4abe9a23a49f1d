// The Applications page: counts by state, filters (search, namespace, label, sync, health), one row each.
// Rows are keyed and only those near the viewport are in the page (./rows.ts): a change redraws its row if it is
// drawn, and a filter draws one screen, so 1,000 (or 10,000) Applications answer like ten.
import { filtersFrom, matches, type Filters } from "../filters.js";
import type { AppSummary } from "../model.js";
import { badge, h, shortRevision, time, tone } from "./dom.js";
import { WindowedRows } from "./rows.js";
import type { Change, Store } from "./store.js";

const SYNCS = ["Synced", "OutOfSync", "Unknown"];
const COLUMNS = ["Namespace", "Name", "Sync", "Health", "Revision", "Last sync", "Message"];
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

type SetFilter = (k: keyof Filters, v: string) => void;

/** The filter form's controls, each setting its filter as the user types or picks. */
function filterControls(f: Filters, setFilter: SetFilter) {
  const search = h("input", { id: "f-q", type: "search", value: f.q, placeholder: "name, message, label…", oninput: (e: Event) => setFilter("q", (e.target as HTMLInputElement).value) });
  const label = h("input", { id: "f-label", type: "text", value: f.label, placeholder: "team=a,tier!=db", oninput: (e: Event) => setFilter("label", (e.target as HTMLInputElement).value) });
  const nsSelect = h("select", { id: "f-ns", onchange: (e: Event) => setFilter("ns", (e.target as HTMLSelectElement).value) });
  const select = (id: string, values: string[], cur: string, key: keyof Filters) =>
    h("select", { id, onchange: (e: Event) => setFilter(key, (e.target as HTMLSelectElement).value) }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v, selected: v === cur }, v)));
  return { search, label, nsSelect, syncSel: select("f-sync", SYNCS, f.sync, "sync"), healthSel: select("f-health", HEALTHS, f.health, "health") };
}

/** The filter form: each control after its label. */
function filterForm(c: ReturnType<typeof filterControls>): HTMLElement {
  return h(
    "form",
    { class: "filters", role: "search", onsubmit: (e: Event) => e.preventDefault() },
    h("label", { for: "f-q" }, "Search"),
    c.search,
    h("label", { for: "f-ns" }, "Namespace"),
    c.nsSelect,
    h("label", { for: "f-label" }, "Labels"),
    c.label,
    h("label", { for: "f-sync" }, "Sync"),
    c.syncSel,
    h("label", { for: "f-health" }, "Health"),
    c.healthSel,
  );
}

/** The table's frame: caption and header row (the rows are WindowedRows'). */
function appsTable(): HTMLTableElement {
  return h(
    "table",
    { class: "apps", "aria-describedby": "apps-shown" },
    h("caption", { class: "visually-hidden" }, "Applications"),
    h("thead", null, h("tr", { "aria-rowindex": 1 }, ...COLUMNS.map((t) => h("th", { scope: "col" }, t)))),
  );
}

/** The total, then a chip a state with its count: selecting one filters on it (again: clears the filter). */
function renderCounts(counts: HTMLElement, apps: AppSummary[], f: Filters, setFilter: SetFilter): void {
  const n = (pred: (a: AppSummary) => boolean) => apps.filter(pred).length;
  const chip = (text: string, count: number, key: keyof Filters, value: string) =>
    h("button", { type: "button", class: `chip ${tone(value)}`, "aria-pressed": String(f[key] === value), onclick: () => setFilter(key, f[key] === value ? "" : value) }, `${text} `, h("strong", null, String(count)));
  counts.replaceChildren(
    h("span", { class: "total" }, "Total ", h("strong", null, String(apps.length))),
    ...SYNCS.map((s) => chip(s, n((a) => a.sync === s), "sync", s)),
    ...HEALTHS.map((s) => chip(s, n((a) => a.health === s), "health", s)),
  );
}

/** The namespace choices: those of the Applications, plus the selected one even if none is left in it. */
function renderNamespaces(nsSelect: HTMLSelectElement, apps: AppSummary[], f: Filters): void {
  const names = [...new Set(apps.map((a) => a.namespace))].sort();
  if (f.ns && !names.includes(f.ns)) names.push(f.ns);
  nsSelect.replaceChildren(h("option", { value: "" }, "all"), ...names.map((n) => h("option", { value: n, selected: n === f.ns }, n)));
}

/** The keys of the Applications that match the filters, sorted. */
function matchingKeys(apps: Iterable<AppSummary>, f: Filters): string[] {
  return [...apps]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .filter((a) => matches(a, f))
    .map((a) => a.key);
}

function shownText(matched: number, total: number): string {
  return matched === total ? `${total} Application${total === 1 ? "" : "s"}` : `${matched} of ${total} Applications match the filters`;
}

export function appsPage(store: Store, params: URLSearchParams, setParams: (p: URLSearchParams) => void): { el: HTMLElement; update(c: Change): void } {
  const f = filtersFrom(params);
  const setFilter: SetFilter = (k, v) => {
    f[k] = v;
    const p = new URLSearchParams();
    for (const [key, val] of Object.entries(f)) if (val) p.set(key, val);
    setParams(p);
    rebuild();
  };
  const controls = filterControls(f, setFilter);
  const counts = h("div", { class: "counts", role: "group", "aria-label": "Counts by state (select to filter)" });
  const shown = h("p", { class: "shown", "aria-live": "polite" });
  const table = appsTable();
  const body = new WindowedRows(table, COLUMNS.length, (key) => {
    const a = store.apps.get(key);
    return a && row(a);
  });
  shown.id = "apps-shown";
  const el = h("section", { "aria-labelledby": "apps-title" }, h("h1", { id: "apps-title" }, "Applications"), counts, filterForm(controls), shown, table);

  /** Keys that match the filters, in order (the rows drawn are those of them near the viewport). */
  let matched = new Set<string>();
  let marked = false;
  const renderShown = () => (shown.textContent = shownText(matched.size, store.apps.size));

  function rebuild(): void {
    const keys = matchingKeys(store.apps.values(), f);
    matched = new Set(keys);
    const empty = h("tr", null, h("td", { colspan: COLUMNS.length, class: "empty" }, store.apps.size ? "No Application matches the filters." : "No Applications yet."));
    body.setKeys(keys, empty);
    // A mark for bench/ui.ts, once the server's rows are drawn (the page first draws with none).
    if (store.stream && !marked) {
      marked = true;
      performance.mark("mooring:first-rows");
    }
    renderCounts(counts, [...store.apps.values()], f, setFilter);
    renderNamespaces(controls.nsSelect, [...store.apps.values()], f);
    renderShown();
  }

  function update(c: Change): void {
    if (c.snapshot) return rebuild();
    if (c.apps.size === 0) return;
    let structural = false;
    for (const key of c.apps) {
      const a = store.apps.get(key);
      // In or out of the filtered list: the list changes; staying in it, only its row (if drawn) does.
      if ((a !== undefined && matches(a, f)) !== matched.has(key)) structural = true;
      else if (a) body.refresh(key);
    }
    if (structural) return rebuild();
    renderCounts(counts, [...store.apps.values()], f, setFilter);
    renderShown();
  }

  rebuild();
  return { el, update };
}

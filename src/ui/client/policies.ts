// The Sync policies page: each SyncPolicy's automation and its windows on a seven-day timeline (allow windows
// green, deny windows red, "now" at the left edge), with what is allowed now and when that changes.
import type { PolicyView } from "../model.js";
import { badge, h, time, tone } from "./dom.js";
import type { Change, Store } from "./store.js";

const DAY = 86_400_000;

function timeline(p: PolicyView): HTMLElement {
  const from = Date.parse(p.from);
  const span = Date.parse(p.to) - from;
  const pct = (t: number) => `${(((t - from) / span) * 100).toFixed(3)}%`;
  const days = Math.round(span / DAY);
  const ticks = Array.from({ length: days }, (_, i) => {
    const t = from + i * DAY;
    return h("span", { class: "tick", style: undefined, "data-left": pct(t) }, new Date(t).toLocaleDateString(undefined, { weekday: "short", day: "numeric" }));
  });
  const rows = p.windows.map((w, index) => {
    const segs = p.segments.filter((s) => s.index === index);
    const label = `${w.kind} window ${index}: "${w.schedule}" ${w.timeZone}, ${w.duration}${w.manualSync ? ", manual syncs allowed" : ""}`;
    return h(
      "div",
      { class: "lane", role: "listitem" },
      h("div", { class: "lane-label" }, label),
      h(
        "div",
        { class: "track", role: "img", "aria-label": `${label}; ${segs.length} opening${segs.length === 1 ? "" : "s"} in the next ${days} days` },
        segs.map((s) => h("span", { class: `seg ${s.kind}`, title: `${s.kind} ${new Date(s.start).toLocaleString()} – ${new Date(s.end).toLocaleString()}`, "data-left": pct(Date.parse(s.start)), "data-width": `${(((Date.parse(s.end) - Date.parse(s.start)) / span) * 100).toFixed(3)}%` })),
      ),
    );
  });
  const el = h("div", { class: "timeline" }, h("div", { class: "ticks", "aria-hidden": "true" }, ticks), h("div", { role: "list", "aria-label": `Windows of ${p.name}` }, rows));
  // Positions are set as properties, not style attributes: the page's CSP allows no inline styles.
  for (const n of el.querySelectorAll<HTMLElement>("[data-left]")) n.style.left = n.dataset.left!;
  for (const n of el.querySelectorAll<HTMLElement>("[data-width]")) n.style.width = n.dataset.width!;
  return el;
}

export function policiesPage(store: Store): { el: HTMLElement; update(c: Change): void } {
  const list = h("div");
  const el = h("section", { "aria-labelledby": "policies-title" }, h("h1", { id: "policies-title" }, "Sync policies"), list);
  function render(): void {
    const ps = [...store.policies.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    list.replaceChildren(
      ...ps.map((p) =>
        h(
          "article",
          { class: "card policy", "data-key": p.key, "aria-labelledby": `p-${p.key.replace(/\W/g, "-")}` },
          h("h2", { id: `p-${p.key.replace(/\W/g, "-")}` }, `${p.namespace}/${p.name}`, " ", badge(`Ready=${p.ready}`, tone(p.ready))),
          h(
            "p",
            null,
            badge(p.automated ? "automated" : "manual only", p.automated ? "ok" : "muted"),
            " ",
            badge(p.prune ? "prune" : "no prune", "muted"),
            " ",
            badge(p.selfHeal ? "self-heal" : "no self-heal", "muted"),
            ` · ${p.applications} Application${p.applications === 1 ? "" : "s"}`,
          ),
          p.windows.length
            ? h(
                "p",
                { class: "window-state" },
                badge(p.automatedAllowed ? "automated syncs allowed now" : "automated syncs blocked now", p.automatedAllowed ? "ok" : "warn"),
                " ",
                badge(p.manualAllowed ? "manual syncs allowed" : "manual syncs blocked", p.manualAllowed ? "ok" : "warn"),
                p.nextChange && [" · changes ", time(p.nextChange)],
              )
            : h("p", null, "No windows: syncs may happen at any time."),
          p.error && h("p", { class: "error" }, p.error),
          p.windows.length ? timeline(p) : null,
        ),
      ),
    );
    if (!ps.length) list.appendChild(h("p", { class: "empty" }, "No SyncPolicies."));
  }
  render();
  return { el, update: (c) => (c.policies || c.snapshot) && render() };
}

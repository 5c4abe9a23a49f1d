// The Sources page: every GitRepository, HelmRepository and HelmChart with its revision, last fetch, artifact and
// errors, and the Applications that use it.
import { badge, h, shortRevision, time, tone } from "./dom.js";
import type { Change, Store } from "./store.js";

export function sourcesPage(store: Store): { el: HTMLElement; update(c: Change): void } {
  const tbody = h("tbody");
  const el = h(
    "section",
    { "aria-labelledby": "sources-title" },
    h("h1", { id: "sources-title" }, "Sources"),
    h(
      "table",
      { class: "sources" },
      h("caption", { class: "visually-hidden" }, "Sources"),
      h("thead", null, h("tr", null, ...["Kind", "Namespace", "Name", "URL", "Ref", "Revision", "Last fetch", "Artifact", "Ready", "Message", "Used by"].map((t) => h("th", { scope: "col" }, t)))),
      tbody,
    ),
  );
  function render(): void {
    const rows = [...store.sources.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    tbody.replaceChildren(
      ...rows.map((s) =>
        h(
          "tr",
          { "data-key": s.key },
          h("td", null, s.kind),
          h("td", null, s.namespace),
          h("th", { scope: "row" }, s.name, s.suspended && badge("suspended", "muted")),
          h("td", { class: "mono" }, s.url),
          h("td", null, s.ref),
          h("td", { class: "mono", title: s.revision }, shortRevision(s.revision) || "—"),
          h("td", null, s.lastFetch ? time(s.lastFetch) : "never"),
          h("td", { class: "mono", title: s.artifact }, s.artifact ? s.artifact.slice(0, 19) + "…" : "—"),
          h("td", null, badge(s.ready, tone(s.ready))),
          h("td", { class: s.ready === "False" ? "msg error" : "msg" }, s.message),
          h("td", null, s.applications.map((a, i) => [i ? ", " : "", h("a", { href: `#/apps/${s.namespace}/${a}` }, a)])),
        ),
      ),
    );
    if (!rows.length) tbody.appendChild(h("tr", null, h("td", { colspan: 11, class: "empty" }, "No sources.")));
  }
  render();
  return { el, update: (c) => (c.sources || c.snapshot) && render() };
}

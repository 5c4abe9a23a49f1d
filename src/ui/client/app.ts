// One Application: its state, actions, resource tree with live health, conditions, the diff a sync would apply,
// history, events, sync window state and dependencies. Reloaded when the server says its detail changed.
import type { ActionName, ActionResult, AppDetail, DiffView, TreeNodeView } from "../model.js";
import { badge, h, shortRevision, time, tone } from "./dom.js";
import { HttpProblem, api, type Change, type Store } from "./store.js";

/** Short kind marks, as icons: read by sight, with the kind in words for screen readers. */
const KIND_MARKS: Record<string, string> = {
  Deployment: "deploy",
  ReplicaSet: "rs",
  Pod: "pod",
  Service: "svc",
  ConfigMap: "cm",
  Secret: "sec",
  StatefulSet: "sts",
  DaemonSet: "ds",
  Job: "job",
  CronJob: "cj",
  Ingress: "ing",
  Namespace: "ns",
  ServiceAccount: "sa",
  Role: "role",
  RoleBinding: "rb",
  ClusterRole: "cr",
  ClusterRoleBinding: "crb",
  PersistentVolumeClaim: "pvc",
  CustomResourceDefinition: "crd",
};

function kindIcon(kind: string): HTMLElement {
  const mark = KIND_MARKS[kind] ?? kind.slice(0, 3).toLowerCase();
  return h("span", { class: `kind kind-${mark}`, "aria-hidden": "true" }, mark);
}

function treeList(nodes: TreeNodeView[], level = 1): HTMLElement {
  return h(
    "ul",
    { role: level === 1 ? "tree" : "group", "aria-label": level === 1 ? "Resource tree" : undefined, class: "tree" },
    nodes.map((n) =>
      h(
        "li",
        { role: "treeitem", "aria-level": level, "aria-expanded": n.children.length ? "true" : undefined, tabindex: level === 1 ? "0" : "-1", "data-kind": n.kind, "data-name": n.name, "data-health": n.health },
        h(
          "div",
          { class: "node" },
          kindIcon(n.kind),
          h("span", { class: "node-kind" }, n.kind),
          h("span", { class: "node-name" }, n.namespace ? `${n.namespace}/${n.name}` : n.name),
          badge(n.health, tone(n.health)),
          n.drifted && badge("drifted", "warn", "the live object differs from the render"),
          n.message && h("span", { class: "node-msg" }, n.message),
        ),
        n.children.length ? treeList(n.children, level + 1) : null,
      ),
    ),
  );
}

/** Arrow keys move between tree items (the tree is one tab stop, as WAI-ARIA's tree pattern has it). */
function treeKeys(e: KeyboardEvent): void {
  const items = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('[role="treeitem"]')];
  const i = items.indexOf(document.activeElement as HTMLElement);
  if (i < 0) return;
  const next = e.key === "ArrowDown" ? items[i + 1] : e.key === "ArrowUp" ? items[i - 1] : e.key === "Home" ? items[0] : e.key === "End" ? items[items.length - 1] : undefined;
  if (!next) return;
  e.preventDefault();
  items[i]!.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}

function diffBlock(d: DiffView): HTMLElement {
  const lines = d.patch.split("\n").map((l) => h("span", { class: l.startsWith("+") && !l.startsWith("+++") ? "add" : l.startsWith("-") && !l.startsWith("---") ? "del" : l.startsWith("@@") ? "hunk" : "" }, l + "\n"));
  return h(
    "article",
    { class: "diff", "data-id": d.id, "data-change": d.change },
    h("h3", null, `${d.id}: ${d.change}`, d.note && h("span", { class: "sub" }, ` (${d.note})`)),
    d.change === "error" ? h("p", { class: "error" }, d.message) : h("pre", { tabindex: "0", "aria-label": `diff of ${d.id}` }, lines),
  );
}

function section(title: string, id: string, ...body: (Node | string | null | false)[]): HTMLElement {
  return h("section", { "aria-labelledby": id, class: "card" }, h("h2", { id }, title), ...body);
}

/** Runs one action on the Application, saying in `status` that it was asked for and how the server answered. */
type Act = (action: ActionName, body?: { to: number }) => Promise<void>;

function actionRunner(ns: string, name: string, status: HTMLElement): Act {
  return async (action, body) => {
    status.textContent = `${action}…`;
    status.className = "action-status";
    try {
      const r = await api<ActionResult>(`/api/apps/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/actions/${action}`, { method: "POST", body: body ?? {} });
      status.textContent = r.message || (r.ok ? `${action} requested` : `${action} failed`);
      status.className = `action-status ${r.ok ? "ok" : "bad"}`;
    } catch (err) {
      status.textContent = (err as Error).message;
      status.className = "action-status bad";
    }
  };
}

/** Asks the server for the diff a sync would apply and shows it (or why it could not) in `out`. */
async function showDiff(ns: string, name: string, out: HTMLElement): Promise<void> {
  out.replaceChildren(h("p", null, "Computing what a sync would change (server-side dry run)…"));
  try {
    const diffs = await api<DiffView[]>(`/api/apps/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/diff`);
    const differ = diffs.filter((d) => d.change !== "unchanged");
    const unchanged = diffs.length - differ.length;
    out.replaceChildren(
      h("p", { class: "diff-summary" }, differ.length ? `${differ.length} object${differ.length === 1 ? "" : "s"} would change, ${unchanged} unchanged.` : `No differences: a sync would change nothing (${unchanged} objects compared).`),
      ...differ.map(diffBlock),
    );
  } catch (err) {
    out.replaceChildren(h("p", { class: "error" }, (err as Error).message));
  }
}

/** The page's heading: breadcrumb, then the name with its sync, health and suspended badges. */
function heading(d: AppDetail, ns: string, name: string): HTMLElement[] {
  const s = d.summary;
  return [
    h("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, h("a", { href: "#/" }, "Applications"), " / ", ns, " / "),
    h("h1", null, name, " ", badge(s.sync, tone(s.sync)), " ", badge(s.health, tone(s.health)), s.suspended && badge("suspended", "muted")),
  ];
}

/** Revision, render, last sync, source, target and message, as a definition list. */
function facts(d: AppDetail): HTMLElement {
  const s = d.summary;
  return h(
    "dl",
    { class: "facts" },
    h("dt", null, "Revision"),
    h("dd", { class: "mono", title: s.revision }, shortRevision(s.revision) || "—", s.commitSubject && h("span", { class: "commit" }, ` ${s.commitSubject}`), s.commitAuthor && h("span", { class: "sub" }, ` by ${s.commitAuthor}`)),
    h("dt", null, "Rendered"),
    h("dd", { class: "mono", title: s.renderedRevision }, shortRevision(s.renderedRevision) || "—"),
    h("dt", null, "Last sync"),
    h("dd", null, s.lastSyncAt ? time(s.lastSyncAt) : "never", s.lastSyncPhase && ` (${s.lastSyncPhase})`),
    h("dt", null, "Source"),
    h("dd", null, d.source ? `${s.source} · ${d.source.url} · ${d.source.ref}` : s.source, `, path ${d.spec.path}`),
    h("dt", null, "Target"),
    h("dd", null, `namespace ${d.spec.targetNamespace}${d.spec.serviceAccountName ? `, as ServiceAccount ${d.spec.serviceAccountName}` : ""}`),
    h("dt", null, "Message"),
    h("dd", null, s.message || "—"),
  );
}

/** The action buttons, disabled (and saying so) when the UI is read-only. */
function actionBar(d: AppDetail, readOnly: boolean, act: Act): HTMLElement {
  const s = d.summary;
  const button = (action: ActionName, label: string) =>
    h("button", { type: "button", "data-action": action, disabled: readOnly, title: readOnly ? "this UI is read-only" : undefined, onclick: () => void act(action) }, label);
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": "Actions" },
    button("sync", "Sync"),
    button("reconcile", "Reconcile"),
    s.suspended ? button("resume", "Resume") : button("suspend", "Suspend"),
    d.held && !s.suspended ? button("resume", "Resume automation") : null,
    button("rollback", "Roll back"),
    readOnly && h("span", { class: "sub" }, "read-only: actions are disabled"),
  );
}

/** A rollback in progress or done, if any. */
function rollbackNote(d: AppDetail): HTMLElement | string {
  return d.rollback ? h("p", { class: `rollback ${d.rollback.phase === "Failed" ? "error" : ""}`, role: "note" }, badge(`rollback ${d.rollback.phase}`, d.rollback.phase === "Succeeded" ? "warn" : tone(d.rollback.phase)), ` to #${d.rollback.id || "?"} (${shortRevision(d.rollback.revision)}): ${d.rollback.message}`) : "";
}

function headRow(titles: string[]): HTMLElement {
  return h("thead", null, h("tr", null, ...titles.map((t) => h("th", { scope: "col" }, t))));
}

function conditionsTable(d: AppDetail): HTMLElement {
  return h(
    "table",
    { class: "conds" },
    headRow(["Type", "Status", "Reason", "Message", "Changed"]),
    h("tbody", null, d.conditions.map((c) => h("tr", { "data-type": c.type }, h("th", { scope: "row" }, c.type), h("td", null, badge(c.status, tone(c.status))), h("td", null, c.reason), h("td", { class: "msg" }, c.message), h("td", null, time(c.lastTransitionTime))))),
  );
}

function windowNote(d: AppDetail): HTMLElement {
  return d.window
    ? h("p", null, `SyncPolicy ${d.window.policy}: `, badge(d.window.automatedAllowed ? "automated allowed" : "automated blocked", d.window.automatedAllowed ? "ok" : "warn"), " ", badge(d.window.manualAllowed ? "manual allowed" : "manual blocked", d.window.manualAllowed ? "ok" : "warn"), ` ${d.window.message}`)
    : h("p", null, "No SyncPolicy: automated sync with prune and self-heal, at any time.");
}

/** What this Application depends on (with their state), then what depends on it. */
function dependencies(d: AppDetail): (HTMLElement | null)[] {
  return [
    d.dependsOn.length ? h("ul", null, d.dependsOn.map((x) => h("li", null, h("a", { href: `#/apps/${x.key}` }, x.key), " ", badge(x.exists ? `Ready=${x.ready}` : "missing", x.exists ? tone(x.ready) : "bad"), x.message && ` ${x.message}`))) : h("p", null, "Depends on nothing."),
    d.dependents.length ? h("p", null, "Needed by: ", d.dependents.map((k, i) => [i ? ", " : "", h("a", { href: `#/apps/${k}` }, k)])) : null,
  ];
}

/** The sync history, one row a sync, with a roll-back button on the rows it can go back to. */
function historyTable(d: AppDetail, readOnly: boolean, act: Act): HTMLElement {
  if (!d.history.length) return h("p", null, "No sync yet.");
  const rollbackTo = (id: number) => h("div", null, h("button", { type: "button", class: "small", "data-rollback": String(id), disabled: readOnly, "aria-label": `Roll back to #${id}`, onclick: () => void act("rollback", { to: id }) }, `Roll back to #${id}`));
  return h(
    "table",
    { class: "history" },
    headRow(["#", "Revision", "Commit", "Outcome", "Trigger", "Started", "Finished", "Message"]),
    h("tbody", null, d.history.map((x) => h("tr", null, h("td", null, x.id ? String(x.id) : "—"), h("td", { class: "mono", title: x.revision }, shortRevision(x.revision)), h("td", null, x.commitSubject || "—", x.commitAuthor && h("div", { class: "sub" }, x.commitAuthor)), h("td", null, badge(x.phase, tone(x.phase))), h("td", null, x.trigger, x.rollbackable && x.id ? rollbackTo(x.id) : null), h("td", null, time(x.startedAt)), h("td", null, x.finishedAt ? time(x.finishedAt) : "—"), h("td", { class: "msg" }, x.message)))),
  );
}

function eventsTable(d: AppDetail): HTMLElement {
  return d.events.length
    ? h("table", { class: "events" }, headRow(["Type", "Reason", "Message", "Count", "Last seen"]), h("tbody", null, d.events.map((e) => h("tr", null, h("td", null, badge(e.type, e.type === "Warning" ? "warn" : "muted")), h("td", null, e.reason), h("td", { class: "msg" }, e.message), h("td", null, String(e.count)), h("td", null, time(e.lastSeen))))))
    : h("p", null, "No events.");
}

/** The page's content for one detail: heading, facts, actions, then a card per concern. */
function detailView(d: AppDetail, ns: string, name: string, readOnly: boolean, act: Act, status: HTMLElement, diffOut: HTMLElement): (HTMLElement | string)[] {
  return [
    ...heading(d, ns, name),
    facts(d),
    actionBar(d, readOnly, act),
    status,
    rollbackNote(d),
    section("Resources", "t-tree", d.tree.length ? Object.assign(treeList(d.tree), { onkeydown: treeKeys }) : h("p", null, "Nothing applied yet.")),
    section("Diff", "t-diff", h("p", null, "What a sync would change now: the rendered objects dry-run applied against the live ones."), h("button", { type: "button", id: "diff-button", onclick: () => void showDiff(ns, name, diffOut) }, "Compute diff"), diffOut),
    section("Conditions", "t-conds", conditionsTable(d)),
    section("Sync window", "t-window", windowNote(d)),
    section("Dependencies", "t-deps", ...dependencies(d)),
    section("History", "t-history", historyTable(d, readOnly, act)),
    section("Events", "t-events", eventsTable(d)),
  ];
}

/** What the page shows when the detail cannot be loaded. */
function loadFailure(name: string, key: string, err: unknown): HTMLElement[] {
  return [h("nav", { "aria-label": "Breadcrumb", class: "crumbs" }, h("a", { href: "#/" }, "Applications")), h("h1", null, name), h("p", { class: "error" }, err instanceof HttpProblem && err.status === 404 ? `Application ${key} not found.` : (err as Error).message)];
}

export function appPage(store: Store, ns: string, name: string): { el: HTMLElement; update(c: Change): void } {
  const key = `${ns}/${name}`;
  const el = h("div", { class: "app" });
  const status = h("p", { role: "status", class: "action-status", "aria-live": "polite" });
  const diffOut = h("div", { class: "diffs", "aria-live": "polite" });
  const act = actionRunner(ns, name, status);
  let loading = false;
  let again = false;

  function render(d: AppDetail): void {
    // Redrawing replaces every element: put the focus back on the one that had it (by id), if it still exists.
    const focused = document.activeElement?.id;
    el.replaceChildren(...detailView(d, ns, name, store.who?.readOnly ?? true, act, status, diffOut));
    if (focused) document.getElementById(focused)?.focus();
  }

  async function load(): Promise<void> {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const d = await api<AppDetail>(`/api/apps/${encodeURIComponent(ns)}/${encodeURIComponent(name)}${store.stream ? `?stream=${store.stream}` : ""}`);
      render(d);
    } catch (err) {
      el.replaceChildren(...loadFailure(name, key, err));
    } finally {
      loading = false;
      if (again) {
        again = false;
        void load();
      }
    }
  }

  el.appendChild(h("p", null, "Loading…"));
  void load();
  return {
    el,
    update(c: Change) {
      if (c.details.has(key) || c.snapshot) void load();
    },
  };
}

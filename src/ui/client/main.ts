// The UI's entry point: who the user is (or a sign-in form), one event stream, and a hash router over four pages.
import type { WhoAmI } from "../model.js";
import { appPage } from "./app.js";
import { appsPage } from "./apps.js";
import { h } from "./dom.js";
import { policiesPage } from "./policies.js";
import { sourcesPage } from "./sources.js";
import { HttpProblem, Store, api, type Change } from "./store.js";

const store = new Store();
const main = document.getElementById("main")!;
const banner = document.getElementById("banner")!;
const userEl = document.getElementById("user")!;
let page: { el: HTMLElement; update(c: Change): void } | undefined;

function route(): void {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?") as [string, string | undefined];
  const params = new URLSearchParams(query ?? "");
  const app = /^\/apps\/([^/]+)\/([^/]+)$/.exec(path);
  const setParams = (p: URLSearchParams) => history.replaceState(null, "", `#/${p.size ? `?${p.toString()}` : ""}`);
  if (app) page = appPage(store, decodeURIComponent(app[1]!), decodeURIComponent(app[2]!));
  else if (path === "/sources") page = sourcesPage(store);
  else if (path === "/policies") page = policiesPage(store);
  else page = appsPage(store, params, setParams);
  const section = path.startsWith("/apps/") || path === "/" ? "/" : path;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav.top a")) {
    if (a.getAttribute("href") === `#${section}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren(page.el);
  document.title = `${page.el.querySelector("h1")?.textContent ?? "Mooring"} · Mooring`;
}

function renderBanner(): void {
  const lines = [...(store.connected ? [] : ["Reconnecting to the server…"]), ...store.problems.map((p) => `${p.what}: ${p.message}`)];
  banner.replaceChildren(...lines.map((l) => h("p", null, l)));
  banner.hidden = lines.length === 0;
}

function signInForm(message: string): void {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
  const error = h("p", { class: "error", role: "alert" }, message);
  main.replaceChildren(
    h(
      "form",
      {
        class: "card signin",
        "aria-labelledby": "signin-title",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            await api("/api/session", { method: "POST", body: { token: input.value } });
            location.reload();
          } catch (err) {
            error.textContent = (err as Error).message;
          }
        },
      },
      h("h1", { id: "signin-title" }, "Sign in"),
      h("p", null, "Paste a Kubernetes bearer token (for example from kubectl create token, or your OIDC login). The UI checks it with the API server and acts with your rights."),
      h("label", { for: "token" }, "Kubernetes token"),
      input,
      h("button", { type: "submit" }, "Sign in"),
      error,
    ),
  );
  input.focus();
}

async function start(): Promise<void> {
  // The stream (the rows) is opened while the server says who the user is, not after: one round trip less before
  // the first rows. Without a session it fails with 401, and the sign-in form replaces it.
  store.connect();
  try {
    store.who = await api<WhoAmI>("/api/whoami");
  } catch (err) {
    store.close();
    if (err instanceof HttpProblem && err.status === 401) return signInForm(err.message);
    main.replaceChildren(h("p", { class: "error" }, (err as Error).message));
    return;
  }
  userEl.textContent = `${store.who.user}${store.who.readOnly ? " · read-only" : ""}`;
  store.on((c) => {
    page?.update(c);
    if (c.problems || c.snapshot) renderBanner();
  });
  window.addEventListener("hashchange", route);
  route();
  // The snapshot may have come before the listener above: its problems are shown now.
  if (store.stream) renderBanner();
  // "/" focuses the search box, as on most list pages.
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement)) {
      const q = document.getElementById("f-q");
      if (q) {
        e.preventDefault();
        q.focus();
      }
    }
  });
}

void start();

// The web UI at scale (docs/ui.md): N Applications (default 1,000) in one namespace, `mooring ui` through its real
// entry point, and Debian's chromium (playwright-core). Measured, never asserted:
//   - time until the Applications page is interactive: navigation start → the first screen of rows drawn, and a
//     search keystroke right then → the list filtered; also → the snapshot received; and a jump to the end of the
//     list → its last row drawn (median of several fresh loads);
//   - time for a status change to show: a status write → the row's new state on the page (the row is scrolled into
//     view first, as only rows near the viewport are drawn; MutationObserver in the page; the browser and this
//     process share the machine's clock), p50/p95/max over many changes;
//   - the snapshot a page receives (bytes, as sent: uncompressed, gzip, br; and the encoding chromium got), the
//     bundle's bytes, the UI process's RSS.
// No controllers run: the bench writes the Applications' status itself (through the status subresource, as the apply
// controller would), so the figures are the UI's alone. Usage: bash hack/with-cluster.sh <cluster> node --import tsx bench/ui.ts [N]
import { readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import zlib from "node:zlib";
import type { Page } from "playwright-core";
import { installCrds } from "../src/api/index.js";
import { FieldManagers } from "../src/api/constants.js";
import { Client, KubeConfig, RestClient, RestMapper, Kinds } from "../src/runtime/index.js";
import { MOORING_KINDS } from "../src/api/kinds.js";
import { testCluster } from "../test/support/cluster.js";
import { createTestNamespace } from "../test/support/namespace.js";
import { launchBrowser, newPage, startUi } from "../test/support/ui.js";

declare const document: any;
declare const window: any;
declare const MutationObserver: any;
declare const performance: any;
declare const requestAnimationFrame: any;

const N = Number(process.argv[2] ?? 1000);
const LOADS = 5;
const CHANGES = 30;
const SHA = (i: number) => i.toString(16).padStart(40, "0");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

function status(i: number, sync: "Synced" | "OutOfSync", at: string) {
  const ok = sync === "Synced";
  return {
    sync: { status: sync, revision: `main@sha1:${SHA(i)}`, lastAppliedAt: at },
    health: { status: ok ? "Healthy" : "Progressing" },
    history: [{ revision: `main@sha1:${SHA(i)}`, phase: "Succeeded", initiatedBy: "auto", startedAt: at, finishedAt: at, message: "applied 3 objects" }],
    conditions: [{ type: "Ready", status: ok ? "True" : "False", reason: ok ? "Succeeded" : "Progressing", message: ok ? "applied; all objects healthy" : "a change is being applied", lastTransitionTime: at }],
  };
}

/**
 * The bytes on the wire until the event stream's first message (the snapshot) is complete, asking for `enc`: what a
 * browser far from the server downloads before it can draw the list.
 */
function snapshotBytes(url: string, enc: "gzip" | "br" | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/api/stream`, { headers: enc ? { "Accept-Encoding": enc } : {} }, (res) => {
      if ((res.headers["content-encoding"] ?? undefined) !== enc) return reject(new Error(`asked for ${enc ?? "identity"}, got ${res.headers["content-encoding"] ?? "identity"}`));
      const z = enc === "br" ? zlib.createBrotliDecompress() : enc === "gzip" ? zlib.createGunzip() : undefined;
      let wire = 0;
      let text = "";
      res.on("data", (c: Buffer) => {
        wire += c.length;
        if (z) z.write(c);
        else seen(c);
      });
      z?.on("data", seen);
      function seen(c: Buffer) {
        text += c.toString();
        if (/\n\ndata: .*\n\n/s.test(text)) {
          req.destroy();
          resolve(wire);
        }
      }
    });
    req.on("error", () => undefined);
  });
}

/** index.html, app.js and app.css as the UI serves them, in each encoding. */
async function bundleBytes(url: string): Promise<{ identity: number; gzip: number; br: number }> {
  const out = { identity: 0, gzip: 0, br: 0 };
  for (const file of ["/", "/app.js", "/app.css"]) {
    for (const enc of ["identity", "gzip", "br"] as const) {
      const bytes = await new Promise<number>((resolve, reject) =>
        http
          .get(`${url}${file}`, { headers: { "Accept-Encoding": enc } }, (res) => {
            let n = 0;
            res.on("data", (c: Buffer) => (n += c.length));
            res.on("end", () => resolve(n));
          })
          .on("error", reject),
      );
      out[enc] += bytes;
    }
  }
  return out;
}

/** Scrolls the list so that row `i` (0-based) is in view, and waits for it to be drawn. */
async function scrollToRow(page: Page, i: number, key: string): Promise<void> {
  await page.evaluate((i) => {
    const rows = [...document.querySelectorAll("tbody tr[data-key]")] as any[];
    const rowH = rows[1].getBoundingClientRect().top - rows[0].getBoundingClientRect().top;
    const tbodyTop = document.querySelector("table.apps tbody").getBoundingClientRect().top + window.scrollY;
    window.scrollTo(0, tbodyTop + i * rowH - 300);
  }, i);
  await page.waitForSelector(`tbody tr[data-key="${key}"]`, { timeout: 10_000 });
}

async function main(): Promise<void> {
  const c = await testCluster();
  await installCrds(c.kc);
  const ns = await createTestNamespace(c, "bench-ui");
  const rest = RestClient.fromKubeConfig(KubeConfig.fromFile(c.kubeconfigPath), { qps: 300, burst: 300 });
  const mapper = new RestMapper(rest);
  mapper.register(...MOORING_KINDS, ...Object.values(Kinds));
  const client = new Client({ rest, mapper, fieldManager: FieldManagers.apply });
  const browser = await launchBrowser();
  let ui: Awaited<ReturnType<typeof startUi>> | undefined;
  try {
    const t0 = Date.now();
    const now = new Date().toISOString();
    const names = Array.from({ length: N }, (_, i) => `app-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name, j) => {
          const app = { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: ns.name, labels: { team: `t${(i + j) % 10}` } }, spec: { sourceRef: { kind: "GitRepository", name: "apps" }, path: `./${name}` } };
          await client.create(app);
          await client.applyStatus({ ...app, status: status(i + j, "Synced", now) }, { fieldManager: FieldManagers.sync, force: true });
        }),
      );
    }
    console.log(`created ${N} Applications with status in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    ui = await startUi(c.kubeconfigPath, ["-n", ns.name, "--log-level=warn"]);
    const snapshot = { identity: await snapshotBytes(ui.url, undefined), gzip: await snapshotBytes(ui.url, "gzip"), br: await snapshotBytes(ui.url, "br") };
    const bundle = await bundleBytes(ui.url);

    const { page } = await newPage(browser, { viewport: { width: 1360, height: 900 } });
    const snapshotAt: number[] = [];
    const firstRows: number[] = [];
    const interactive: number[] = [];
    const keystroke: number[] = [];
    const toEnd: number[] = [];
    let chromiumEncoding = "";
    const mark = (name: string) => page.evaluate((n) => performance.getEntriesByName(n)[0]?.startTime ?? -1, name);
    // The probe runs in the page, so no round trip to this process sits between the first rows and the keystroke:
    // at the first-rows mark it types into the search box at once and notes when the filtered list is painted.
    await page.context().addInitScript(`
      if (location.hash.includes("probe")) new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.name === "mooring:first-rows" && !window.__probe) {
          window.__probe = "pending";
          setTimeout(() => {
            const input = document.getElementById("f-q");
            const typed = performance.now();
            input.value = "app-0999";
            input.dispatchEvent(new Event("input", { bubbles: true }));
            requestAnimationFrame(() => { window.__probe = { firstRows: e.startTime, typed, answered: performance.now(), rows: document.querySelectorAll("tbody tr[data-key]").length }; });
          }, 0);
        }
      }).observe({ entryTypes: ["mark"] });
    `);
    page.on("response", (r) => {
      if (r.url().endsWith("/api/stream")) chromiumEncoding = r.headers()["content-encoding"] ?? "none";
    });
    for (let run = 0; run < LOADS; run++) {
      await page.goto("about:blank");
      await page.goto(`${ui.url}/#/?probe=${run}`);
      const probe = (await (await page.waitForFunction(() => typeof window.__probe === "object" && window.__probe, null, { polling: 50, timeout: 120_000 })).jsonValue()) as { firstRows: number; typed: number; answered: number; rows: number };
      if (probe.rows !== 1) throw new Error(`the search left ${probe.rows} rows`);
      snapshotAt.push(await mark("mooring:snapshot"));
      firstRows.push(probe.firstRows);
      keystroke.push(probe.answered - probe.typed);
      interactive.push(probe.answered);
      // A jump to the end of the list (the search box emptied first): time until its last row is drawn and painted.
      toEnd.push(
        await page.evaluate(
          (n) =>
            new Promise<number>((resolve) => {
              const input = document.getElementById("f-q");
              input.value = "";
              input.dispatchEvent(new Event("input", { bubbles: true }));
              const t = performance.now();
              window.scrollTo(0, document.documentElement.scrollHeight);
              const check = () => (document.querySelector(`tbody tr[aria-rowindex="${n + 1}"]`) ? requestAnimationFrame(() => resolve(performance.now() - t)) : requestAnimationFrame(check));
              requestAnimationFrame(check);
            }),
          N,
        ),
      );
    }

    // Status changes: scroll an Application's row into view, write its status, time until the row shows it.
    await page.goto("about:blank");
    await page.goto(`${ui.url}/#/`);
    await page.waitForFunction((n) => document.querySelector("table.apps")?.getAttribute("aria-rowcount") === String(n + 1), N, { polling: "raf", timeout: 60_000 });
    await page.evaluate(() => {
      window.changes = {};
      new MutationObserver((records: any[]) => {
        for (const r of records) for (const n of r.addedNodes) if (n.dataset?.key) window.changes[`${n.dataset.key} ${n.dataset.sync}`] ??= Date.now();
      }).observe(document.querySelector("tbody"), { childList: true });
    });
    const latencies: number[] = [];
    for (let k = 0; k < CHANGES; k++) {
      const i = (k * 37) % N;
      const name = names[i]!;
      const sync = k % 2 === 0 ? "OutOfSync" : "Synced";
      await scrollToRow(page, i, `${ns.name}/${name}`);
      const wrote = Date.now();
      await client.applyStatus({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: ns.name }, status: status(i, sync, new Date().toISOString()) }, { fieldManager: FieldManagers.sync, force: true });
      const seen = await page.waitForFunction((key) => window.changes[key], `${ns.name}/${name} ${sync}`, { polling: 10, timeout: 30_000 });
      latencies.push(((await seen.jsonValue()) as number) - wrote);
      await page.evaluate((key) => delete window.changes[key], `${ns.name}/${name} ${sync}`);
    }

    const load = os.loadavg().map((x) => x.toFixed(1)).join(" ");
    console.log(`\n## mooring ui, ${N} Applications (${os.cpus().length} cores, load average ${load})\n`);
    console.log(`| measure | value |\n| --- | --- |`);
    const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    console.log(`| list page: navigation start → snapshot received (median of ${LOADS}) | ${ms(snapshotAt)} |`);
    console.log(`| list page: navigation start → first screen of rows drawn | ${ms(firstRows)} |`);
    console.log(`| list page: a search keystroke at that moment → filtered list painted | ${median(keystroke).toFixed(0)} ms (max ${Math.max(...keystroke).toFixed(0)}) |`);
    console.log(`| **list page interactive**: navigation start → that keystroke answered | **${ms(interactive)}** |`);
    console.log(`| list page: a jump to the end of the list → its last row drawn | ${ms(toEnd)} |`);
    console.log(`| status write → row updated on the page (${CHANGES} changes) | p50 ${median(latencies)} ms, p95 ${pct(latencies, 95)} ms, max ${Math.max(...latencies)} ms |`);
    const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    console.log(`| first message of the event stream (snapshot of ${N} rows): uncompressed, gzip, br (chromium got: ${chromiumEncoding}) | ${kib(snapshot.identity)}, ${kib(snapshot.gzip)}, ${kib(snapshot.br)} |`);
    console.log(`| bundle (app.js + app.css + index.html): uncompressed, gzip, br | ${kib(bundle.identity)}, ${kib(bundle.gzip)}, ${kib(bundle.br)} |`);
    console.log(`| mooring ui RSS after the runs | ${rssMiB(ui.pid).toFixed(0)} MiB |`);
  } finally {
    await browser.close();
    await ui?.stop();
    rest.close();
    await ns.cleanup();
  }
}

await main();

// The Applications page with many rows, in Debian's chromium (playwright-core): 300 Applications in a namespace, their
// status written by the test through the status subresource (as the apply controller would; no controller runs, the
// list is what is under test), and `mooring ui -n` through the real entry point. Only the rows near the viewport are
// in the page (src/ui/client/rows.ts); this proves the list stays a whole list for its users: the table counts every
// row (aria-rowcount, aria-rowindex), scrolling to the end draws the last Application, Tab walks the links one by one
// past the rows first drawn, a search finds an Application never drawn, a status change shows live in a drawn row
// and in the counts for one not drawn, and the event stream and the bundle arrive compressed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { FieldManagers } from "../../../src/api/constants.js";
import { installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { launchBrowser, newPage, startUi, type RunningUi } from "../../support/ui.js";

declare const document: any;
declare const window: any;

const N = 300;
const STEP = { timeout: 300_000 };
const name = (i: number) => `app-${String(i).padStart(3, "0")}`;

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let ui: RunningUi | undefined;
let browser: Browser | undefined;
let page: Page;
const encodings = new Map<string, string>();

function status(i: number, sync: "Synced" | "OutOfSync") {
  const at = new Date().toISOString();
  const ok = sync === "Synced";
  return {
    sync: { status: sync, revision: `main@sha1:${i.toString(16).padStart(40, "0")}`, lastAppliedAt: at },
    health: { status: ok ? "Healthy" : "Progressing" },
    conditions: [{ type: "Ready", status: ok ? "True" : "False", reason: ok ? "Succeeded" : "Progressing", message: ok ? "applied" : "a change is being applied", lastTransitionTime: at }],
  };
}

const writeStatus = (i: number, sync: "Synced" | "OutOfSync") =>
  kube.client.applyStatus({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: name(i), namespace: ns.name }, status: status(i, sync) }, { fieldManager: FieldManagers.sync, force: true });

/** What the page holds now: the rows drawn (their aria-rowindex and names) and the table's row count. */
const drawn = () =>
  page.evaluate(() => ({
    rowcount: document.querySelector("table.apps").getAttribute("aria-rowcount"),
    rows: [...document.querySelectorAll("tbody tr[data-key]")].map((r: any) => ({ index: Number(r.getAttribute("aria-rowindex")), name: r.querySelector("th a").textContent })),
  }));

before(async () => {
  browser = await launchBrowser();
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "ui-long");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  for (let i = 0; i < N; i += 30) {
    await Promise.all(
      Array.from({ length: Math.min(30, N - i) }, async (_, j) => {
        await kube.client.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: name(i + j), namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./" } });
        await writeStatus(i + j, "Synced");
      }),
    );
  }
  ui = await startUi(c.kubeconfigPath, ["-n", ns.name]);
  ({ page } = await newPage(browser, { viewport: { width: 1360, height: 800 } }));
  page.on("response", (r) => {
    const p = new URL(r.url()).pathname;
    if (p === "/api/stream" || p === "/app.js") encodings.set(p, r.headers()["content-encoding"] ?? "none");
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await ui?.stop();
  kube?.close();
  await ns?.cleanup();
});

describe(`the Applications page with ${N} Applications`, () => {
  it("counts every row but draws only those near the viewport, each with its index", STEP, async () => {
    await page.goto(ui!.url);
    await page.waitForFunction((n) => document.querySelector("table.apps")?.getAttribute("aria-rowcount") === String(n + 1) && document.querySelector("tbody tr[data-key]"), N, { timeout: 60_000 });
    const d = await drawn();
    assert.equal(d.rowcount, String(N + 1), "the header row and every Application");
    assert.ok(d.rows.length >= 15 && d.rows.length < N / 2, `${d.rows.length} rows drawn of ${N}`);
    d.rows.forEach((r, k) => assert.deepEqual(r, { index: k + 2, name: name(k) }, "rows in order from the first, numbered after the header"));
    assert.match((await page.textContent(".counts")) ?? "", new RegExp(`Total ${N}`));
    assert.match((await page.textContent("#apps-shown")) ?? "", new RegExp(`${N} Applications`));
  });

  it("the event stream and the bundle arrive compressed", STEP, async () => {
    assert.match(encodings.get("/api/stream") ?? "", /^(gzip|br)$/, `the stream's Content-Encoding: ${encodings.get("/api/stream")}`);
    assert.match(encodings.get("/app.js") ?? "", /^(gzip|br)$/, `app.js's Content-Encoding: ${encodings.get("/app.js")}`);
  });

  it("scrolling to the end draws the last Application, with its index", STEP, async () => {
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForSelector(`tbody tr[data-key="${ns.name}/${name(N - 1)}"][aria-rowindex="${N + 1}"]`, { timeout: 10_000 });
    const d = await drawn();
    assert.ok(!d.rows.some((r) => r.name === name(0)), "the first row is no longer drawn");
    d.rows.forEach((r, k) => assert.equal(r.index, d.rows[0]!.index + k, "the rows drawn are consecutive"));
    // The last row is on screen, not past it: the spacers stand in for the rows not drawn at their height.
    const bottom = await page.evaluate((key) => document.querySelector(`tr[data-key="${key}"]`).getBoundingClientRect().bottom, `${ns.name}/${name(N - 1)}`);
    assert.ok(bottom > 0 && bottom <= 800 + 1, `the last row's bottom at ${bottom}px in an 800px viewport`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForSelector(`tbody tr[data-key="${ns.name}/${name(0)}"]`, { timeout: 10_000 });
  });

  it("Tab walks the Applications' links one by one, past the rows first drawn", STEP, async () => {
    const first = (await drawn()).rows.length;
    await page.focus("#f-health");
    const reached: string[] = [];
    for (let k = 0; k < first + 40; k++) {
      await page.keyboard.press("Tab");
      reached.push(await page.evaluate(() => document.activeElement?.textContent ?? ""));
    }
    assert.deepEqual(reached, Array.from({ length: first + 40 }, (_, k) => name(k)));
    const d = await drawn();
    assert.ok(d.rows.some((r) => r.name === name(first + 39)), "the focused row is drawn");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), name(first + 38), "and Shift+Tab goes back");
    await page.keyboard.press("Enter");
    await page.waitForSelector(`h1 >> text=${name(first + 38)}`, { timeout: 30_000 });
    await page.goBack();
    await page.waitForSelector("tbody tr[data-key]", { timeout: 30_000 });
  });

  it("a search finds an Application never drawn, and clearing it brings the whole list back", STEP, async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.fill("#f-q", name(N - 2));
    await page.waitForSelector(`tbody tr[data-key="${ns.name}/${name(N - 2)}"][aria-rowindex="2"]`, { timeout: 10_000 });
    assert.equal((await drawn()).rowcount, "2");
    assert.equal((await drawn()).rows.length, 1);
    await page.fill("#f-q", "");
    await page.waitForFunction((n) => document.querySelector("table.apps").getAttribute("aria-rowcount") === String(n + 1), N, { timeout: 10_000 });
    assert.deepEqual((await drawn()).rows[0], { index: 2, name: name(0) });
  });

  it("a status change shows live: in its row when drawn, in the counts when not", STEP, async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await writeStatus(3, "OutOfSync");
    await page.waitForSelector(`tbody tr[data-key="${ns.name}/${name(3)}"][data-sync="OutOfSync"]`, { timeout: 30_000 });
    const far = N - 5;
    assert.ok(!(await drawn()).rows.some((r) => r.name === name(far)), "the far row is not drawn");
    await writeStatus(far, "OutOfSync");
    await page.waitForFunction(() => /OutOfSync 2/.test(document.querySelector(".counts").textContent), null, { timeout: 30_000 });
    // Scrolled to, it is drawn in its new state.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForSelector(`tbody tr[data-key="${ns.name}/${name(far)}"][data-sync="OutOfSync"]`, { timeout: 10_000 });
  });
});

// Which engine rendered a chart is visible in the API (issue 22): render() and the worker the controller renders in
// return the engine `auto` resolved to, and the render controller's status (src/render/outcome.ts) shows it in
// status.render.engine and the Rendered message. The Go chart is rendered by the pinned helm (`make tools`); a
// missing helm fails the test.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { render, renderIsolated } from "../../../src/render/index.js";
import { renderStatus, type OwnedStatus } from "../../../src/render/outcome.js";
import { helmBinary } from "../../support/helm.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "mooring-engine-"));
function write(files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    writeFileSync(path.join(tmp, rel), text);
  }
}
write({
  // A Helm v3 chart: Chart.yaml has an apiVersion and the template is Go.
  "go/Chart.yaml": "apiVersion: v2\nname: go\nversion: 1.0.0\n",
  "go/values.yaml": "greeting: hi\n",
  "go/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-go\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
  // One of Mooring's own charts: no apiVersion, Handlebars.
  "hbs/Chart.yaml": "name: hbs\nversion: 1.0.0\n",
  "hbs/values.yaml": "greeting: hi\n",
  "hbs/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{release.name}}-hbs\ndata:\n  greeting: {{quote values.greeting}}\n",
  "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
});

after(() => rmSync(tmp, { recursive: true, force: true }));

const helm = { helmBinary: helmBinary(), releaseName: "rel" };

void describe("the resolved helm engine", () => {
  void it("render() says which engine auto chose, and an explicit engine is what it says", () => {
    const go = render(tmp, "go", { helm });
    assert.deepEqual([go.type, go.engine, go.objects[0]?.metadata.name], ["helm", "go", "rel-go"]);
    const hbs = render(tmp, "hbs", { helm });
    assert.deepEqual([hbs.type, hbs.engine, hbs.objects[0]?.metadata.name], ["helm", "handlebars", "rel-hbs"]);
    // engine: go on the Handlebars chart is obeyed (and helm then reads `{{release.name}}` as Go, and fails).
    assert.throws(() => render(tmp, "hbs", { helm: { ...helm, engine: "go" } }), /hbs\/templates\/cm\.yaml:4: template syntax error: function "release" not defined/);
    const plain = render(tmp, "plain");
    assert.equal(plain.type, "plain");
    assert.equal("engine" in plain, false, "no engine for a render that is not a chart's");
  });

  void it("the worker the controller renders in passes the engine on", async () => {
    const go = await renderIsolated(tmp, "go", { helm }, { timeoutMs: 60_000 });
    assert.deepEqual([go.type, go.engine], ["helm", "go"]);
    const hbs = await renderIsolated(tmp, "hbs", { helm }, { timeoutMs: 60_000 });
    assert.deepEqual([hbs.type, hbs.engine], ["helm", "handlebars"]);
  });
});

void describe("status.render.engine and the Rendered message", () => {
  const source = { revision: "main@sha1:aaa", digest: "sha256:src" };
  const stored = { url: "http://a/x.json", digest: "sha256:out", size: 10, objects: 3, path: "charts/shop" };
  const stamp = { generation: 1, now: Date.parse("2026-02-01T00:00:00Z") };
  const rendered = (current: OwnedStatus, r: { type: string; engine?: string }) =>
    renderStatus(current, { kind: "rendered", source, render: { ...stored, ...r }, fresh: true }, stamp).status;
  const message = (s: OwnedStatus) => s.conditions?.find((c) => c.type === "Rendered")?.message;

  void it("names the engine of a chart, and only of a chart", () => {
    const go = rendered({}, { type: "helm", engine: "go" });
    assert.equal(go.render?.engine, "go");
    assert.equal(message(go), "rendered 3 objects (helm, engine go) from 'charts/shop' at revision 'main@sha1:aaa'");
    const hbs = rendered({}, { type: "helm", engine: "handlebars" });
    assert.equal(hbs.render?.engine, "handlebars");
    assert.match(message(hbs) ?? "", /\(helm, engine handlebars\)/);
    const kust = rendered({}, { type: "kustomize" });
    assert.equal(kust.render?.engine, undefined);
    assert.match(message(kust) ?? "", /\(kustomize\) from/);
  });

  void it("a render remembered from before the engine was kept says (helm), and the next one fills it in", () => {
    const old = rendered({}, { type: "helm" });
    assert.equal(old.render?.engine, undefined);
    assert.match(message(old) ?? "", /\(helm\) from/);
    // Same artifact, now with its engine: status.render is written again (a status written by an older operator
    // would otherwise never show it).
    const next = rendered(old, { type: "helm", engine: "go" });
    assert.equal(next.render?.engine, "go");
    assert.match(message(next) ?? "", /\(helm, engine go\)/);
  });
});

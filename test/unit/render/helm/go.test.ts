// The Go-template chart renderer's own work around helm (src/render/helm/go.ts): the command line and the scrubbed
// environment it runs helm with, the values it stages (in Mooring's order, named back in messages), what it makes of
// each way mooring-helm or helm can end, Lists flattened, and its helpers (parseHelmYaml, oneLine). Stand-in
// executables decide what "helm" prints; the real pinned helm renders where the output itself matters.
// (Template errors, limits and the oracle comparison with `helm template` are in ../helm-go-*.test.ts.)
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { DEFAULT_LIMITS, resolveLimits } from "../../../../src/render/limits.js";
import { DEFAULT_KUBE_VERSION, oneLine, parseHelmYaml, renderGoChart, type GoChartOptions } from "../../../../src/render/helm/go.js";
import { ChartFiles } from "../../../../src/render/helm/stage.js";
import { RenderError } from "../../../../src/render/errors.js";
import { helmBinary } from "../../../support/helm.js";
import { writeTree } from "../tree.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-helm-go-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const CHART = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";

/** Stand-in executables (shell scripts, by name) together in a fresh directory; their paths by name. */
function stub(dir: string, scripts: Record<string, string>): Record<string, string> {
  const d = path.join(scratch, dir);
  fs.mkdirSync(d, { recursive: true });
  const out: Record<string, string> = {};
  for (const [name, body] of Object.entries(scripts)) {
    out[name] = path.join(d, name);
    fs.writeFileSync(out[name], `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return out;
}

/** Renders the chart `files` (under app/) with `opts`; the objects, or the RenderError. */
function renderApp(files: Record<string, string>, opts: GoChartOptions): ReturnType<typeof renderGoChart> | RenderError {
  const t = writeTree({ "app/Chart.yaml": CHART, ...files });
  try {
    return renderGoChart(new ChartFiles(new ArtifactRoot(t.dir, resolveLimits({}))), "app", opts);
  } catch (err) {
    assert.ok(err instanceof RenderError, `a RenderError, not ${String(err)}`);
    return err;
  } finally {
    t.cleanup();
  }
}

function failure(files: Record<string, string>, opts: GoChartOptions): RenderError {
  const r = renderApp(files, opts);
  assert.ok(r instanceof RenderError, "the render failed");
  return r;
}

void describe("how helm is run", () => {
  // Records its arguments, environment and each --values file, then prints one object.
  const rec = path.join(scratch, "recorded");
  const recorder = stub("recorder", {
    helm: `mkdir -p ${rec}; printf '%s\\n' "$@" > ${rec}/args; env > ${rec}/env; n=0; prev=
for a in "$@"; do if [ "$prev" = --values ]; then cp "$a" ${rec}/values.$n; n=$((n+1)); fi; prev=$a; done
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: recorded\\n'`,
  }).helm!;
  const read = (f: string) => fs.readFileSync(path.join(rec, f), "utf8");

  void it("runs `helm template` with the defaults: the chart's name as release, namespace default, the pinned Kubernetes, CRDs, no tests", () => {
    const objs = renderApp({}, { helmBinary: recorder, driver: false });
    assert.ok(!(objs instanceof RenderError));
    assert.deepEqual(objs.map((o) => o.metadata.name), ["recorded"]);
    const args = read("args").trimEnd().split("\n");
    assert.equal(args[0], "template");
    assert.equal(args[1], "demo");
    assert.ok(args[2]!.startsWith(os.tmpdir()) && !args[2]!.includes("app"), `a staged copy of the chart: ${args[2]}`);
    assert.deepEqual(args.slice(3), ["--namespace", "default", "--kube-version", DEFAULT_KUBE_VERSION, "--skip-tests", "--include-crds"]);
  });

  void it("passes the release, namespace, versions, upgrade and CRD choice, and stages values in order: files, valuesFrom, inline", () => {
    const opts: GoChartOptions = {
      helmBinary: recorder,
      driver: false,
      releaseName: "shop",
      namespace: "apps",
      kubeVersion: "v1.30.0",
      apiVersions: ["example.com/v1", "example.com/v1/Foo"],
      skipCrds: true,
      isUpgrade: true,
      valuesFiles: ["values-prod.yaml"],
      valuesFrom: [{ a: 1 }, { b: { c: "d" } }],
      values: { inline: true },
    };
    renderApp({ "app/values-prod.yaml": "# as written\nreplicas: 3\n" }, opts);
    const args = read("args").trimEnd().split("\n");
    const valuesAt = args.indexOf("--values");
    assert.deepEqual(args.slice(3, valuesAt), ["--namespace", "apps", "--kube-version", "v1.30.0", "--skip-tests", "--is-upgrade", "--api-versions", "example.com/v1", "--api-versions", "example.com/v1/Foo"]);
    assert.equal(args.filter((a) => a === "--values").length, 4);
    assert.deepEqual([0, 1, 2, 3].map((i) => read(`values.${i}`)), ["# as written\nreplicas: 3\n", '{"a":1}', '{"b":{"c":"d"}}', '{"inline":true}']);
    // No inline values file for empty inline values.
    renderApp({}, { helmBinary: recorder, driver: false, values: {} });
    assert.ok(!read("args").includes("--values"));
  });

  void it("gives helm nothing of the operator's environment: private empty directories, and a soft memory limit under the hard one", () => {
    process.env.MOORING_GO_TEST_SECRET = "leak";
    try {
      renderApp({}, { helmBinary: recorder, driver: false, maxMemoryMb: 100 });
    } finally {
      delete process.env.MOORING_GO_TEST_SECRET;
    }
    const env = Object.fromEntries(
      read("env")
        .trimEnd()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(env.MOORING_GO_TEST_SECRET, undefined);
    assert.equal(env.PATH, "/usr/local/bin:/usr/bin:/bin");
    assert.equal(env.HELM_NO_PLUGINS, "1");
    assert.equal(env.GOMEMLIMIT, String(Math.floor(100 * 1024 * 1024 * 0.75)));
    for (const k of ["HOME", "TMPDIR", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "HELM_PLUGINS", "HELM_REPOSITORY_CONFIG", "HELM_REGISTRY_CONFIG", "KUBECONFIG"]) {
      assert.ok(env[k]?.startsWith(path.join(os.tmpdir(), "mooring-helm-")), `${k}=${env[k]} is under the run's temporary directory`);
    }
  });

  void it("names a staged values file back by where it came from in helm's messages", () => {
    const helm = stub("values-error", { helm: `for a in "$@"; do last=$a; done; echo "Error: failed to parse $last: error converting YAML to JSON" >&2; exit 1` }).helm!;
    const err = failure({}, { helmBinary: helm, driver: false, valuesFrom: [{ a: 1 }] });
    assert.equal(err.message, "app: helm template failed: failed to parse valuesFrom[0]: error converting YAML to JSON");
    assert.ok(!err.message.includes(os.tmpdir()));
  });

  void it("refuses a Chart.yaml that is not a map or has no name, before running helm", () => {
    const never = stub("never", { helm: "exit 99" }).helm!;
    const notMap = failure({ "app/Chart.yaml": "- a\n- b\n" }, { helmBinary: never });
    assert.equal(notMap.message, "app/Chart.yaml: must be a YAML map");
    const noName = failure({ "app/Chart.yaml": "apiVersion: v2\nversion: 1.0.0\n" }, { helmBinary: never });
    assert.equal(noName.message, "app/Chart.yaml: Chart.yaml needs a name");
  });
});

void describe("how helm's run ends", () => {
  /** A stand-in mooring-helm beside a stand-in helm: what the driver prints and how it exits. */
  const driven = (name: string, driver: string) => ({ helmBinary: stub(name, { helm: "exit 0", "mooring-helm": driver }).helm! });

  void it("each exit status of mooring-helm is its own message", () => {
    assert.equal(failure({}, driven("d-output", "exit 11")).message, `app: helm template of app printed more than the ${DEFAULT_LIMITS.maxOutputBytes}-byte output limit`);
    assert.equal(failure({}, driven("d-deadline", "exit 12")).message, "app: helm template of app took longer than 60000 ms and was killed; simplify the templates or split the Application");
    assert.equal(failure({}, { ...driven("d-memory", "exit 13"), maxMemoryMb: 77 }).message, "app: helm template of app needed more than 77 MiB of memory and was stopped");
    assert.equal(failure({}, driven("d-yaml", "echo 'templates/a.yaml: mapping values are not allowed' >&2; exit 14")).message, "app: helm printed a document that is not valid YAML: templates/a.yaml: mapping values are not allowed");
    assert.equal(failure({}, driven("d-other", "echo 'flag provided but not defined: -x' >&2; exit 2")).message, "app: helm template of app failed (exit 2): flag provided but not defined: -x");
  });

  void it("refuses driver output that is not a JSON array, and objects that are not maps", () => {
    assert.match(failure({}, driven("d-text", "printf not-json")).message, /^mooring-helm printed output that is not JSON \(.*\); is it the build for Helm v3\.\d+\.\d+\?$/);
    assert.equal(failure({}, driven("d-obj", "echo '{}'")).message, "mooring-helm printed output that is not a JSON array");
    const scalar = failure({ "app/templates/s.yaml": "x" }, driven("d-scalar", `echo '[{"source":"demo/templates/s.yaml","object":"x"}]'`));
    assert.equal(scalar.message, "app/templates/s.yaml: the template rendered a document that is a string, not a Kubernetes object");
  });

  void it("a helm killed by a signal says which", () => {
    const helm = stub("killed", { helm: "kill -TERM $$" }).helm!;
    assert.equal(failure({}, { helmBinary: helm, driver: false }).message, "app: helm template of app was killed by SIGTERM");
  });

  void it("flattens Lists into their items, each from its template; an item that is not an object is refused (with and without mooring-helm)", () => {
    const helm = helmBinary(); // the pinned helm: fails loudly when 'make tools' has not built it
    const list = "apiVersion: v1\nkind: ConfigMapList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: one\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: two\n";
    const files = { "app/templates/list.yaml": list, "app/templates/cm.yaml": CM };
    const withDriver = renderApp(files, { helmBinary: helm });
    const direct = renderApp(files, { helmBinary: helm, driver: false });
    assert.ok(!(withDriver instanceof RenderError) && !(direct instanceof RenderError));
    assert.deepEqual(withDriver.map((o) => o.metadata.name), ["x", "one", "two"]);
    assert.deepEqual(direct, withDriver, "the same objects either way");
    const bad = failure({ "app/templates/list.yaml": "apiVersion: v1\nkind: ConfigMapList\nitems:\n  - just a string\n" }, { helmBinary: helm });
    assert.equal(bad.message, "app/templates/list.yaml: an item of ConfigMapList is not an object");
    assert.equal(bad.template, "app/templates/list.yaml");
  });
});

void describe("parseHelmYaml and oneLine", () => {
  void it("splits helm's output at its --- lines only, keeps each document's Source and a block scalar's last newline, drops empty documents", () => {
    const text = [
      "---",
      "# Source: demo/templates/a.yaml",
      "kind: A",
      "script: |",
      "  echo hi",
      "  ---",
      "--- # a comment after the marker",
      "# Source: demo/templates/empty.yaml",
      "---\t",
      "# Source: demo/templates/b.yaml",
      "kind: B",
      "note: ---not-a-marker",
      "",
    ].join("\n");
    const docs = parseHelmYaml(text, DEFAULT_LIMITS);
    assert.deepEqual(docs, [
      { source: "demo/templates/a.yaml", object: { kind: "A", script: "echo hi\n---\n" } },
      { source: "demo/templates/b.yaml", object: { kind: "B", note: "---not-a-marker" } },
    ]);
    assert.deepEqual(parseHelmYaml("kind: C\n", DEFAULT_LIMITS), [{ source: "", object: { kind: "C" } }], "no Source comment: no source");
  });

  void it("oneLine skips stack lines and blank ones, and cuts a long line at 300 characters", () => {
    assert.equal(oneLine("runtime stack:\n[signal SIGSEGV: segmentation violation]\n\n  real cause  \n"), "real cause");
    const long = "x".repeat(400);
    assert.equal(oneLine(long), `${"x".repeat(300)}…`);
    assert.equal(oneLine("goroutine 7 [running]:\n"), "no message");
  });
});

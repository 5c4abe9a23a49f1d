// Go-template (Helm v3) chart rendering: Mooring vs `helm template`, end to end, in the same run, on a generated
// chart of hundreds of objects (and on the largest chart of the real-world corpus when ../shared/corpora/helm-real
// is there, or at $HELM_REAL_CORPUS). Mooring renders through the pinned helm, so the question is what the rest costs: copying the chart
// out of the artifact, helm's output to objects, the canonical digest. Also: what a re-render with unchanged
// inputs costs the render controller (its cache key; nothing is rendered).
// Run: node --import tsx bench/render-helm.ts [iterations] [apps]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { canonicalJson, render, renderCacheKey, renderIsolated, serialize } from "../src/render/index.js";
import { findHelm } from "../src/render/helm/binary.js";
import { DEFAULT_LIMITS } from "../src/render/limits.js";
import { parseYamlDocs } from "../src/render/yaml.js";

const iterations = Number(process.argv[2] ?? 5);
const APPS = Number(process.argv[3] ?? 150); // × 4 objects

function write(dir: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

/** A chart of APPS apps × (Deployment, Service, ConfigMap, ServiceAccount), written as real charts are: helpers, include, toYaml, tpl. */
function generateChart(dir: string): void {
  write(dir, "Chart.yaml", "apiVersion: v2\nname: fleet\nversion: 1.0.0\nappVersion: '3.1.4'\n");
  const apps = Array.from({ length: APPS }, (_, i) => `  - name: app${i}\n    port: ${8000 + (i % 50)}\n    replicas: ${1 + (i % 3)}\n    env: {MODE: prod, SHARD: "${i % 8}"}\n`).join("");
  write(dir, "values.yaml", `image: registry.local/fleet\nlabels:\n  team: platform\n  tier: backend\nresources:\n  limits: {cpu: 500m, memory: 256Mi}\n  requests: {cpu: 100m, memory: 128Mi}\ngreeting: "hello from {{ .Release.Name }}"\napps:\n${apps}`);
  write(
    dir,
    "templates/_helpers.tpl",
    `{{- define "fleet.labels" -}}
app.kubernetes.io/name: {{ .app.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{ toYaml .root.Values.labels }}
{{- end -}}
{{- define "fleet.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .app.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
`,
  );
  write(
    dir,
    "templates/apps.yaml",
    `{{- range $app := .Values.apps }}
{{- $ctx := dict "app" $app "root" $ }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "fleet.fullname" $ctx }}
  labels: {{- include "fleet.labels" $ctx | nindent 4 }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "fleet.fullname" $ctx }}
  labels: {{- include "fleet.labels" $ctx | nindent 4 }}
data:
  greeting: {{ tpl $.Values.greeting $ | quote }}
  {{- range $k, $v := $app.env }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "fleet.fullname" $ctx }}
  labels: {{- include "fleet.labels" $ctx | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/name: {{ $app.name }}
  ports:
    - port: 80
      targetPort: {{ $app.port }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "fleet.fullname" $ctx }}
  labels: {{- include "fleet.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $app.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ $app.name }}
  template:
    metadata:
      labels: {{- include "fleet.labels" $ctx | nindent 8 }}
      annotations:
        checksum/config: {{ toJson $app.env | sha256sum }}
    spec:
      serviceAccountName: {{ include "fleet.fullname" $ctx }}
      containers:
        - name: main
          image: {{ printf "%s/%s:%s" $.Values.image $app.name $.Chart.AppVersion }}
          ports:
            - containerPort: {{ $app.port }}
          envFrom:
            - configMapRef:
                name: {{ include "fleet.fullname" $ctx }}
          resources: {{- toYaml $.Values.resources | nindent 12 }}
{{- end }}
`,
  );
}

/**
 * Runs the contenders in turns (a, b, c, a, b, c, …) so that each sees the same machine load, and keeps each one's
 * median: on a shared machine the mean follows whoever else is busy.
 */
async function race(contenders: Record<string, () => number | Promise<number>>): Promise<Record<string, { seconds: number; objects: number }>> {
  const samples: Record<string, number[]> = {};
  const objects: Record<string, number> = {};
  for (let i = 0; i < iterations; i++) {
    for (const [name, fn] of Object.entries(contenders)) {
      const t0 = process.hrtime.bigint();
      objects[name] = await fn();
      (samples[name] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { seconds: median(v), objects: objects[k]! }]));
}

const ms = (r: { seconds: number }): string => `${(r.seconds * 1000).toFixed(1)} ms`;
const rate = (r: { seconds: number; objects: number }): string => `${Math.round(r.objects / r.seconds).toLocaleString("en-US")} objects/s`;

interface Subject {
  label: string;
  root: string;
  chartPath: string;
  valuesFiles: string[];
}

async function bench(s: Subject, helm: string): Promise<boolean> {
  const chart = path.join(s.root, s.chartPath);
  const helmArgs = ["template", "rel", chart, "--namespace", "apps", "--kube-version", "1.36.3", "--include-crds", "--skip-tests", ...s.valuesFiles.flatMap((f) => ["--values", path.join(chart, f)])];
  const env = { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), "mooring-helm/cache"), HELM_CONFIG_HOME: path.join(os.tmpdir(), "mooring-helm/config"), HELM_DATA_HOME: path.join(os.tmpdir(), "mooring-helm/data") };
  const helmTemplate = (): string => {
    const r = spawnSync(helm, helmArgs, { encoding: "utf8", maxBuffer: 1 << 28, env });
    if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
    return r.stdout;
  };
  const opts = { type: "helm" as const, helm: { releaseName: "rel", namespace: "apps", valuesFiles: s.valuesFiles } };

  // Same output first: a benchmark of different work would mean nothing.
  const want = parseYamlDocs(helmTemplate(), "helm", DEFAULT_LIMITS)
    .map((d) => d.value)
    .filter((v) => v !== null && v !== undefined);
  const first = render(s.root, s.chartPath, opts);
  const same = canonicalJson(first.objects) === canonicalJson(want);

  const r = await race({
    helm: () => helmTemplate().split("\n---\n").length,
    // What the render controller does with a render: objects and their canonical digest (the artifact's bytes).
    mooring: () => render(s.root, s.chartPath, opts).objects.length,
    // What `helm template` does too: print YAML.
    mooringYaml: () => {
      const out = render(s.root, s.chartPath, opts);
      serialize(out.objects, "yaml");
      return out.objects.length;
    },
    // The controller's path: a worker thread per render (under tsx its start-up compiles the renderer; the image's built JS starts faster).
    worker: async () => (await renderIsolated(s.root, s.chartPath, opts, { timeoutMs: 120_000 })).objects.length,
    // …of which the worker's start-up: the same worker rendering one plain manifest.
    workerStartup: async () => (await renderIsolated(tiny, "", {}, { timeoutMs: 120_000 })).objects.length,
  });
  const theirs = r.helm!;
  const ours = r.mooring!;
  const oursYaml = r.mooringYaml!;
  const isolated = r.worker!;
  const startup = r.workerStartup!;
  // A re-render with unchanged inputs: the controller computes the cache key, finds its last render under it and renders nothing.
  const app = { namespace: "apps", name: "fleet" };
  const spec = { path: s.chartPath, render: { type: "helm" as const, helm: { valuesFiles: s.valuesFiles } } };
  const key = renderCacheKey("sha256:" + "0".repeat(64), app, spec, {});
  const n = 10_000;
  const t0 = process.hrtime.bigint();
  let equal = 0;
  for (let i = 0; i < n; i++) if (renderCacheKey("sha256:" + "0".repeat(64), app, spec, {}) === key) equal++;
  const keyMicros = Number(process.hrtime.bigint() - t0) / 1e3 / n;

  console.log(`\n== ${s.label}: ${first.objects.length} objects; ${iterations} runs each, in turns, medians; outputs identical: ${same ? "yes" : "NO"}`);
  console.log(`helm template (process):                 ${ms(theirs).padStart(10)}  ${rate({ ...theirs, objects: first.objects.length })}`);
  console.log(`Mooring render (in-process, digest):     ${ms(ours).padStart(10)}  ${rate(ours)}  ratio helm/Mooring ${(theirs.seconds / ours.seconds).toFixed(2)}x`);
  console.log(`Mooring render + YAML output:            ${ms(oursYaml).padStart(10)}  ${rate(oursYaml)}  ratio ${(theirs.seconds / oursYaml.seconds).toFixed(2)}x`);
  console.log(`Mooring render in a worker (controller): ${ms(isolated).padStart(10)}  ${rate(isolated)}  ratio ${(theirs.seconds / isolated.seconds).toFixed(2)}x`);
  console.log(`  of which the worker's start-up:        ${ms(startup).padStart(10)}  (a worker rendering one plain manifest)`);
  console.log(`re-render, inputs unchanged (cache key): ${keyMicros.toFixed(1)} µs, nothing rendered (${equal}/${n} keys equal)`);
  return same;
}

const programs = findHelm();
console.log(`helm: ${programs.helm}; mooring-helm: ${programs.driver ?? "not found (helm's YAML parsed in Node)"}`);
// RENDER_BENCH_DIR keeps the generated chart there (for profiling); by default a temporary directory is removed.
const keep = process.env.RENDER_BENCH_DIR;
const work = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "mooring-bench-helm-"));
const tiny = path.join(work, "tiny");
let ok = true;
try {
  fs.rmSync(path.join(work, "fleet"), { recursive: true, force: true });
  generateChart(path.join(work, "fleet"));
  write(tiny, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n");
  ok = (await bench({ label: `generated chart (${APPS} apps)`, root: work, chartPath: "fleet", valuesFiles: [] }, programs.helm)) && ok;
  const corpus = path.join(process.env.HELM_REAL_CORPUS ?? path.join(import.meta.dirname, "..", "..", "shared", "corpora", "helm-real"), "cases", "08-argo-cd");
  if (fs.existsSync(corpus)) {
    ok = (await bench({ label: "corpus 08-argo-cd with values-ha.yaml (CRDs, redis-ha subchart)", root: corpus, chartPath: "argo-cd", valuesFiles: ["../values-ha.yaml"] }, programs.helm)) && ok;
  } else {
    // Said, not silently skipped: a reader comparing with docs/render.md's table should know a row is missing.
    console.log(`corpus chart: not measured (${corpus} does not exist; set HELM_REAL_CORPUS to the helm-real corpus to add it)`);
  }
} finally {
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}
if (!ok) process.exitCode = 1;

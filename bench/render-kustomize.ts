// Render throughput: Mooring's kustomize renderer vs `kubectl kustomize` on the same generated fixture (a base of
// ~1,000 objects and an overlay with patches and generators), and on the largest cases of the real-world corpus
// (../shared/corpora/kustomize-real, or $KUSTOMIZE_CORPUS, when it is there: the one with the most output and the one
// with the most objects), in the same run; then the Handlebars chart renderer on ~1,000 objects. Every comparison
// first checks that both produce the same objects, then runs the contenders in turns and keeps medians.
// Prints objects/s per case, then every kustomize case side by side with its ratios to kubectl (Mooring in-process,
// and `mooring render` compiled, as a process). Run: node --expose-gc --import tsx bench/render-kustomize.ts [iterations]
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { render, serialize, sortKeys } from "../src/render/index.js";

const iterations = Number(process.argv[2] ?? 5);
const APPS = 250; // × 4 objects = 1,000 in the base

function write(dir: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

function generateKustomize(dir: string): void {
  const files: string[] = [];
  for (let f = 0; f < 10; f++) {
    const docs: string[] = [];
    for (let i = f * (APPS / 10); i < (f + 1) * (APPS / 10); i++) {
      const n = `app${i}`;
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${n}
  labels: {app: ${n}, tier: ${i % 2 ? "back" : "front"}}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${n}}
  template:
    metadata:
      labels: {app: ${n}}
    spec:
      serviceAccountName: ${n}
      containers:
      - name: main
        image: registry.local/team/${n}:1.0
        ports: [{containerPort: 8080, name: http}]
        env:
        - {name: MODE, value: prod}
        envFrom:
        - configMapRef: {name: ${n}-config}
        - configMapRef: {name: shared}
        volumeMounts: [{name: secrets, mountPath: /secrets}]
      volumes:
      - name: secrets
        secret: {secretName: shared-secret}
---
apiVersion: v1
kind: Service
metadata:
  name: ${n}
spec:
  selector: {app: ${n}}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${n}-config
data:
  index: "${i}"
  text: some configuration for ${n}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${n}`);
    }
    const file = `apps-${f}.yaml`;
    files.push(file);
    write(dir, `base/${file}`, docs.join("\n---\n") + "\n");
  }
  write(dir, "base/kustomization.yaml", `resources:\n${files.map((f) => `- ${f}`).join("\n")}\n`);
  write(
    dir,
    "overlay/kustomization.yaml",
    `namespace: prod
namePrefix: prod-
commonLabels:
  env: prod
commonAnnotations:
  owner: platform
resources:
- ../base
images:
- name: registry.local/team/app1
  newTag: "2.0"
patches:
- target:
    kind: Deployment
    labelSelector: tier=back
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      replicas: 3
      template:
        spec:
          containers:
          - name: main
            resources:
              limits: {cpu: 500m, memory: 256Mi}
- target:
    kind: Service
  patch: |-
    - op: add
      path: /metadata/annotations/patched
      value: "true"
configMapGenerator:
- name: shared
  literals: [REGION=eu, TIER=gold]
secretGenerator:
- name: shared-secret
  literals: [token=abc123]
`,
  );
}

function generateChart(dir: string): void {
  write(dir, "Chart.yaml", "name: bench\nversion: 1.0.0\nappVersion: '1.0'\n");
  const items = Array.from({ length: APPS }, (_, i) => `- name: app${i}\n  replicas: ${(i % 3) + 1}`).join("\n");
  write(dir, "values.yaml", `image: {repository: registry.local/team/app, tag: "1.0"}\nlabels: {team: blue}\nitems:\n${items}\n`);
  write(dir, "templates/_labels.hbs", "app.kubernetes.io/instance: {{release.name}}\nteam: {{values.labels.team}}");
  write(
    dir,
    "templates/apps.yaml",
    `{{#each values.items}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{name}}
  labels: {{nindent 4 (include "labels" @root)}}
spec:
  replicas: {{replicas}}
  selector:
    matchLabels: { app: {{name}} }
  template:
    metadata:
      labels: { app: {{name}} }
    spec:
      containers:
      - name: main
        image: {{@root.values.image.repository}}:{{default "latest" @root.values.image.tag}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{name}}
spec:
  selector: { app: {{name}} }
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{name}}-config
data:
  name: {{quote name}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{name}}
{{/each}}
`,
  );
}

/**
 * Runs the contenders in turns (a, b, a, b, …), so each sees the same machine load, and keeps each one's median
 * time per run: on a shared machine a mean follows whoever else is busy.
 */
function inTurns(fns: Record<string, () => number>): Record<string, { seconds: number; objects: number }> {
  const samples: Record<string, number[]> = {};
  const objects: Record<string, number> = {};
  for (let i = 0; i < iterations; i++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = process.hrtime.bigint();
      objects[name] = fn();
      (samples[name] ??= []).push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  const median = (xs: number[]): number => {
    const s2 = [...xs].sort((a, b) => a - b);
    return s2.length % 2 ? s2[(s2.length - 1) / 2]! : (s2[s2.length / 2 - 1]! + s2[s2.length / 2]!) / 2;
  };
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { seconds: median(v), objects: objects[k]! }]));
}

function kubectlKustomize(dir: string): string {
  return execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
}

/** The corpus cases with the most output (bytes) and the most objects, as (case dir, kustomization path). */
function corpusCases(): { label: string; root: string; sub: string }[] {
  const corpus = process.env.KUSTOMIZE_CORPUS ?? path.join(import.meta.dirname, "..", "..", "shared", "corpora", "kustomize-real");
  const list = path.join(corpus, "cases.txt");
  if (!fs.existsSync(list)) {
    console.log(`(no real-world corpus at ${corpus}: only the generated overlay is compared)`);
    return [];
  }
  const sized = fs
    .readFileSync(list, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const [id, sub] = l.split(/\s+/) as [string, string];
      const root = path.join(corpus, "cases", id);
      const out = kubectlKustomize(path.join(root, sub));
      return { id, root, sub, bytes: out.length, objects: out.split(/^kind: /m).length - 1 };
    });
  const byBytes = [...sized].sort((a, b) => b.bytes - a.bytes)[0]!;
  const byObjects = [...sized].sort((a, b) => b.objects - a.objects)[0]!;
  const picks = [{ ...byBytes, label: `corpus, largest output: ${byBytes.id} (${Math.round(byBytes.bytes / 1024)} KiB)` }];
  if (byObjects.id !== byBytes.id) picks.push({ ...byObjects, label: `corpus, most objects: ${byObjects.id}` });
  return picks.map((p) => ({ label: p.label, root: p.root, sub: p.sub }));
}

/**
 * Compiles the CLI to JavaScript, as the image ships it, so the process figure is not tsx compiling TypeScript at
 * every start. The output goes under node_modules/.cache (it resolves the project's node_modules from there), not to
 * dist/, which others may be using. Undefined (no process row) when the compile fails.
 */
function buildCli(): string | undefined {
  const project = path.join(import.meta.dirname, "..");
  const out = path.join(project, "node_modules", ".cache", "mooring-bench-dist");
  try {
    fs.rmSync(out, { recursive: true, force: true });
    execFileSync(path.join(project, "node_modules", ".bin", "tsc"), ["-p", path.join(project, "tsconfig.build.json"), "--outDir", out], { stdio: ["ignore", "ignore", "inherit"] });
    return path.join(out, "src", "cli", "main.js");
  } catch (err) {
    console.log(`(compiling the CLI failed, so mooring render is not timed as a process: ${(err as Error).message})`);
    return undefined;
  }
}

function canonicalSet(objs: unknown[]): string[] {
  return objs.map((o) => JSON.stringify(sortKeys(o))).sort();
}

// RENDER_BENCH_DIR keeps the generated fixtures there (for profiling); by default a temporary directory is removed.
const keep = process.env.RENDER_BENCH_DIR;
const work = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "mooring-bench-"));
try {
  generateKustomize(path.join(work, "k"));
  generateChart(path.join(work, "chart"));

  const rate = (r: { seconds: number; objects: number }): string => `${Math.round(r.objects / r.seconds).toLocaleString("en-US")} objects/s`;
  const ms = (r: { seconds: number }): string => `${(r.seconds * 1000).toFixed(1)} ms`;
  const cli = buildCli();
  let allSame = true;
  const rows: { label: string; objects: number; mooring: number; kubectl: number; process?: number; same: boolean }[] = [];
  const scenarios = [{ label: "generated overlay (1,000-object base)", root: path.join(work, "k"), sub: "overlay" }, ...corpusCases()];
  console.log(`iterations: ${iterations} per contender, in turns, medians`);
  for (const sc of scenarios) {
    // Same output first: a benchmark of different work would mean nothing.
    const oursObjs = render(sc.root, sc.sub, { type: "kustomize" }).objects;
    const theirs = parseAllDocuments(kubectlKustomize(path.join(sc.root, sc.sub))).map((d) => d.toJS() as unknown).filter((o) => o !== null);
    const same = JSON.stringify(canonicalSet(oursObjs)) === JSON.stringify(canonicalSet(theirs));
    allSame &&= same;
    const fns: Record<string, () => number> = {
      // End to end in-process, as `mooring render` runs it: read, render, the post-render checks and the digest, then
      // YAML output, like `kubectl kustomize` prints.
      mooring: () => {
        const out = render(sc.root, sc.sub, { type: "kustomize" });
        serialize(out.objects, "yaml");
        return out.objects.length;
      },
      kubectl: () => kubectlKustomize(path.join(sc.root, sc.sub)).split(/^kind: /m).length - 1,
    };
    if (cli) {
      // The same as a process, as a user or CI runs `mooring render` (the compiled CLI, Node's start-up included).
      fns.cli = () => {
        const out = execFileSync(process.execPath, [cli, "render", path.join(sc.root, sc.sub), "--root", sc.root], {
          encoding: "utf8",
          maxBuffer: 1 << 28,
          cwd: path.join(import.meta.dirname, ".."),
        });
        return out.split("\n---\n").length;
      };
    }
    const r = inTurns(fns);
    rows.push({ label: sc.label, objects: r.mooring!.objects, mooring: r.mooring!.seconds, kubectl: r.kubectl!.seconds, process: r.cli?.seconds, same });
    console.log(`\n== ${sc.label}: outputs identical: ${same ? "yes" : "NO"}`);
    console.log(`kustomize (Mooring, in-process): ${r.mooring!.objects} objects in ${ms(r.mooring!)}  ${rate(r.mooring!)}`);
    console.log(`kubectl kustomize (process):     ${r.kubectl!.objects} objects in ${ms(r.kubectl!)}  ${rate(r.kubectl!)}`);
    console.log(`ratio Mooring / kubectl: ${(r.kubectl!.seconds / r.mooring!.seconds).toFixed(2)}x`);
    if (r.cli) {
      console.log(`mooring render (process, built): ${r.cli.objects} objects in ${ms(r.cli)}  ${rate(r.cli)}`);
      console.log(`ratio mooring render process / kubectl: ${(r.kubectl!.seconds / r.cli.seconds).toFixed(2)}x`);
    }
  }
  // Side by side: the issue's goal is Mooring at least 2× faster than kubectl kustomize on every line, in one run.
  // The in-process figure is what the render controller pays per render (the renderer is loaded once); the process
  // figure adds Node's start-up and loading the CLI's modules, which a user of `mooring render` pays every time.
  console.log("\n== kustomize, side by side (medians; ratio = kubectl time / Mooring time; goal ≥ 2× in-process)");
  const width = Math.max(...rows.map((x) => x.label.length));
  const msCol = (sec: number | undefined): string => (sec === undefined ? "-" : `${(sec * 1000).toFixed(0)} ms`).padStart(9);
  const ratioCol = (sec: number | undefined, kubectl: number): string => (sec === undefined ? "-" : `${(kubectl / sec).toFixed(2)}×`).padStart(8);
  console.log(`${"case".padEnd(width)}  objects    kubectl  in-process    ratio    process    ratio`);
  for (const x of rows) {
    console.log(
      `${x.label.padEnd(width)}  ${String(x.objects).padStart(7)}  ${msCol(x.kubectl)}  ${msCol(x.mooring)}  ${ratioCol(x.mooring, x.kubectl)}  ${msCol(x.process)}  ${ratioCol(x.process, x.kubectl)}` +
        `${x.kubectl / x.mooring < 2 ? "  in-process below the 2× goal" : ""}${x.same ? "" : "  OUTPUTS DIFFER"}`,
    );
  }
  const chart = inTurns({
    chart: () => {
      const out = render(path.join(work, "chart"), "", { helm: { releaseName: "bench" }, targetNamespace: "prod" });
      serialize(out.objects, "yaml");
      return out.objects.length;
    },
  }).chart!;
  console.log(`\nhelm-style chart (Mooring, in-process): ${chart.objects} objects in ${ms(chart)}  ${rate(chart)}`);
  if (!allSame) process.exitCode = 1;
} finally {
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}

// Render throughput: Mooring's kustomize renderer vs `kubectl kustomize` on the same generated fixture (a base of
// ~1,000 objects and an overlay with patches and generators), and the Handlebars chart renderer on ~1,000 objects.
// Prints objects/s and the ratio. Run: node --import tsx bench/render-kustomize.ts [iterations]
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ArtifactRoot, render, resolveLimits, serialize, sortKeys } from "../src/render/index.js";
import { renderKustomize } from "../src/render/kustomize/index.js";

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

function time(fn: () => number): { seconds: number; objects: number } {
  let objects = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) objects = fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9 / iterations, objects };
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
  const overlay = path.join(work, "k", "overlay");

  // Same output first: a benchmark of different work would mean nothing.
  const oursObjs = renderKustomize(new ArtifactRoot(path.join(work, "k"), resolveLimits()), "overlay");
  const theirsText = execFileSync("kubectl", ["kustomize", overlay], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
  const theirs = parseAllDocuments(theirsText).map((d) => d.toJS() as unknown);
  const same = JSON.stringify(canonicalSet(oursObjs)) === JSON.stringify(canonicalSet(theirs));

  const ours = time(() => {
    // End to end in-process: read + render + serialise to YAML, like `kubectl kustomize` does.
    const objs = renderKustomize(new ArtifactRoot(path.join(work, "k"), resolveLimits()), "overlay");
    serialize(objs, "yaml");
    return objs.length;
  });
  const kubectl = time(() => {
    const out = execFileSync("kubectl", ["kustomize", overlay], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n---\n").length;
  });
  // The same as a process, like a user or CI runs it (tsx compiles TypeScript on the fly; a built binary starts faster).
  const cliEntry = path.join(import.meta.dirname, "..", "src", "cli", "main.ts");
  const cli = time(() => {
    const out = execFileSync(process.execPath, ["--import", "tsx", cliEntry, "render", overlay, "--root", path.join(work, "k")], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
      cwd: path.join(import.meta.dirname, ".."),
    });
    return out.split("\n---\n").length;
  });
  const chart = time(() => {
    const out = render(path.join(work, "chart"), "", { helm: { releaseName: "bench" }, targetNamespace: "prod" });
    serialize(out.objects, "yaml");
    return out.objects.length;
  });

  const rate = (r: { seconds: number; objects: number }): string => `${Math.round(r.objects / r.seconds).toLocaleString("en-US")} objects/s`;
  console.log(`iterations: ${iterations}; outputs identical: ${same ? "yes" : "NO"}`);
  console.log(`kustomize (Mooring, in-process): ${ours.objects} objects in ${(ours.seconds * 1000).toFixed(1)} ms  ${rate(ours)}`);
  console.log(`kubectl kustomize (process):     ${kubectl.objects} objects in ${(kubectl.seconds * 1000).toFixed(1)} ms  ${rate(kubectl)}`);
  console.log(`ratio Mooring / kubectl: ${(kubectl.seconds / ours.seconds).toFixed(2)}x`);
  console.log(`mooring render (process, tsx):   ${cli.objects} objects in ${(cli.seconds * 1000).toFixed(1)} ms  ${rate(cli)}`);
  console.log(`ratio mooring render process / kubectl: ${(kubectl.seconds / cli.seconds).toFixed(2)}x`);
  console.log(`helm-style chart (Mooring, in-process): ${chart.objects} objects in ${(chart.seconds * 1000).toFixed(1)} ms  ${rate(chart)}`);
  if (!same) process.exitCode = 1;
} finally {
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}

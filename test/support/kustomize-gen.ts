// Random but valid Kustomize overlays for the property test of the kustomize renderer against `kubectl kustomize`
// (test/unit/property/kustomize.property.test.ts). A case is a spec (plain data, so fast-check shrinks it) that
// `materialize` writes as a directory tree: a base, up to two overlays above it (each `resources: [../below]`) and
// components, with strategic-merge and JSON 6902 patches (inline or from files, with or without a target, in
// `patches` or the legacy fields), namePrefix/nameSuffix, namespace, commonLabels, labels (with and without
// selectors/templates), commonAnnotations, images, replicas, configMapGenerator/secretGenerator (create, merge,
// replace; options), generatorOptions. Choices that name an object (a patch, a replicas entry, a generator merging
// into an existing ConfigMap) pick it among the objects present at that level, by index modulo their count, so
// nearly every case is one kubectl accepts; the few it refuses are still compared (both must refuse).
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** The resources a case can hold; each is added once, at the level that lists it first. */
export const CATALOG = ["deploy", "svc", "sts", "cm", "secret", "sa", "rbac", "widget", "ingress", "cronjob"] as const;
export type CatalogName = (typeof CATALOG)[number];

export interface GenSpec {
  /** create: a new name (or app-config/app-secret when absent); merge/replace: an existing one of that kind. */
  behavior: "create" | "merge" | "replace" | "default";
  pick: number;
  literals: [string, string][];
  disableHash: boolean | null;
  labels: boolean;
  withNamespace: boolean;
  secretType: boolean;
}

export interface PatchSpec {
  style: "smp" | "json";
  /** where it is written: `patches` inline, `patches` from a file, or the legacy fields. */
  field: "inline" | "file" | "legacy";
  pick: number;
  variant: number;
  target: "none" | "kindName" | "nameRegex" | "labelSelector" | "kindOnly";
  currentName: boolean;
  withNamespace: boolean;
}

export interface LayerSpec {
  extra: CatalogName[];
  namePrefix: string | null;
  nameSuffix: string | null;
  namespace: string | null;
  commonLabels: Record<string, string> | null;
  labels: { pairs: Record<string, string>; includeSelectors: boolean; includeTemplates: boolean }[];
  commonAnnotations: Record<string, string> | null;
  images: { name: string; newName: string | null; newTag: string | null; digest: boolean }[];
  replicas: { pick: number; count: number }[];
  configMaps: GenSpec[];
  secrets: GenSpec[];
  generatorOptions: { disableHash: boolean; labels: boolean } | null;
  patches: PatchSpec[];
  /** a component this layer lists (its own resources, labels, generators and patches). */
  component: LayerSpec | null;
}

export interface CaseSpec {
  layers: LayerSpec[];
  imageVariant: number;
}

const labelKey = fc.constantFrom("tier", "team", "app.kubernetes.io/part-of", "env", "app");
const labelValue = fc.constantFrom("backend", "blue", "x", "prod", "v1-2");
const labelMap = fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 2 });

const genSpec: fc.Arbitrary<GenSpec> = fc.record({
  behavior: fc.constantFrom("create", "merge", "replace", "default"),
  pick: fc.nat(20),
  literals: fc.array(fc.tuple(fc.constantFrom("mode", "level", "color", "token", "extra"), fc.constantFrom("a", "debug", "42", "true", "two words")), { minLength: 1, maxLength: 3 }),
  disableHash: fc.constantFrom(null, null, true, false),
  labels: fc.boolean(),
  withNamespace: fc.boolean(),
  secretType: fc.boolean(),
});

const patchSpec: fc.Arbitrary<PatchSpec> = fc.record({
  style: fc.constantFrom("smp", "smp", "json"),
  field: fc.constantFrom("inline", "inline", "file", "legacy"),
  pick: fc.nat(20),
  variant: fc.nat(20),
  target: fc.constantFrom("none", "none", "kindName", "nameRegex", "labelSelector", "kindOnly"),
  currentName: fc.boolean(),
  withNamespace: fc.boolean(),
});

function layerSpec(component: fc.Arbitrary<LayerSpec | null>): fc.Arbitrary<LayerSpec> {
  return fc.record({
    extra: fc.uniqueArray(fc.constantFrom(...CATALOG), { maxLength: 4 }),
    namePrefix: fc.option(fc.constantFrom("p-", "dev-", "a"), { freq: 2 }),
    nameSuffix: fc.option(fc.constantFrom("-s", "-v2"), { freq: 3 }),
    namespace: fc.option(fc.constantFrom("team-a", "team-b"), { freq: 2 }),
    commonLabels: fc.option(labelMap, { freq: 2 }),
    labels: fc.array(fc.record({ pairs: labelMap, includeSelectors: fc.boolean(), includeTemplates: fc.boolean() }), { maxLength: 2 }),
    commonAnnotations: fc.option(fc.dictionary(fc.constantFrom("note", "example.com/owner"), fc.constantFrom("hi", "team a", "1")), { freq: 3 }),
    images: fc.array(
      fc.record({
        name: fc.constantFrom("nginx", "busybox", "postgres", "example.com/tools/runner", "absent"),
        newName: fc.option(fc.constantFrom("registry.local/nginx", "mirror.io/lib/img"), { freq: 2 }),
        newTag: fc.option(fc.constantFrom("1.27", "latest", "v2.0.1"), { freq: 2 }),
        digest: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
    replicas: fc.array(fc.record({ pick: fc.nat(20), count: fc.nat(5) }), { maxLength: 1 }),
    configMaps: fc.array(genSpec, { maxLength: 2 }),
    secrets: fc.array(genSpec, { maxLength: 1 }),
    generatorOptions: fc.option(fc.record({ disableHash: fc.boolean(), labels: fc.boolean() }), { freq: 4 }),
    patches: fc.array(patchSpec, { maxLength: 3 }),
    component,
  });
}

export const caseSpec: fc.Arbitrary<CaseSpec> = fc.record({
  layers: fc.array(layerSpec(fc.option(layerSpec(fc.constant(null)), { freq: 3 })), { minLength: 1, maxLength: 3 }),
  imageVariant: fc.nat(3),
});

// ---- the catalog's objects --------------------------------------------------------------------------------------

const IMAGES = [
  ["nginx:1.25", "busybox:1.36", "postgres:16", "example.com/tools/runner:v1"],
  ["nginx", "busybox@sha256:" + "a".repeat(64), "postgres:16-alpine", "example.com/tools/runner"],
  ["docker.io/library/nginx:1.25", "busybox", "postgres", "example.com/tools/runner:v1"],
  ["nginx:1.25", "busybox:1.36", "localhost:5000/postgres:16", "example.com/tools/runner@sha256:" + "b".repeat(64)],
];

function podSpec(img: string[], main: string, image: string, sa: boolean): Obj {
  return {
    ...(sa ? { serviceAccountName: "runner" } : {}),
    containers: [
      {
        name: main,
        image,
        ports: [{ containerPort: 8080, name: "http" }],
        env: [
          { name: "MODE", value: "prod" },
          { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "app-config", key: "level" } } },
        ],
        envFrom: [{ secretRef: { name: "app-secret" } }],
        volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
      },
      { name: "sidecar", image: img[1]!, args: ["sleep", "3600"] },
    ],
    volumes: [{ name: "cfg", configMap: { name: "app-config" } }],
  };
}

function catalogObjects(name: CatalogName, img: string[]): Obj[] {
  const meta = (n: string, app: string): Obj => ({ name: n, labels: { app } });
  switch (name) {
    case "deploy":
      return [{ apiVersion: "apps/v1", kind: "Deployment", metadata: meta("web", "web"), spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: podSpec(img, "web", img[0]!, true) } } }];
    case "svc":
      return [{ apiVersion: "v1", kind: "Service", metadata: meta("web", "web"), spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } }];
    case "sts":
      return [{ apiVersion: "apps/v1", kind: "StatefulSet", metadata: meta("db", "db"), spec: { serviceName: "web", replicas: 1, selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: podSpec(img, "db", img[2]!, false) } } }];
    case "cm":
      return [{ apiVersion: "v1", kind: "ConfigMap", metadata: meta("app-config", "web"), data: { mode: "prod", level: "info" } }];
    case "secret":
      return [{ apiVersion: "v1", kind: "Secret", metadata: meta("app-secret", "web"), type: "Opaque", data: { token: "c2VjcmV0" } }];
    case "sa":
      return [{ apiVersion: "v1", kind: "ServiceAccount", metadata: meta("runner", "web") }];
    case "rbac":
      return [
        { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta("reader", "web"), rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }] },
        { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta("reader", "web"), roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" }, subjects: [{ kind: "ServiceAccount", name: "runner" }, { kind: "ServiceAccount", name: "default" }] },
      ];
    case "widget":
      return [{ apiVersion: "example.com/v1", kind: "Widget", metadata: meta("gizmo", "gizmo"), spec: { size: 3, items: ["a", "b"], ref: { name: "app-config" } } }];
    case "ingress":
      return [{ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: meta("web", "web"), spec: { rules: [{ host: "web.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] } }];
    case "cronjob":
      return [{ apiVersion: "batch/v1", kind: "CronJob", metadata: meta("tick", "tick"), spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "tick", image: img[3]!, envFrom: [{ configMapRef: { name: "app-config" } }] }] } } } } } }];
  }
}

// ---- materialize ------------------------------------------------------------------------------------------------

/** An object present at some level, as the levels above see it. */
interface Present {
  apiVersion: string;
  kind: string;
  original: string;
  current: string;
  namespace: string | null;
  labels: Record<string, string>;
}

const SMP_KINDS_WITH_POD = new Set(["Deployment", "StatefulSet"]);

function smpBody(p: Present, variant: number): Obj {
  const podPatch = (spec: Obj): Obj => ({ spec: { template: { spec } } });
  if (SMP_KINDS_WITH_POD.has(p.kind)) {
    const main = p.kind === "Deployment" ? "web" : "db";
    const variants: Obj[] = [
      { spec: { replicas: 4 } },
      podPatch({ containers: [{ name: main, image: "nginx:1.27" }] }),
      podPatch({ containers: [{ name: main, env: [{ name: "NEW", value: "x" }, { name: "MODE", value: "dev" }] }] }),
      podPatch({ containers: [{ name: "extra", image: "redis:7", envFrom: [{ configMapRef: { name: "app-config" } }] }] }),
      podPatch({ containers: [{ name: "sidecar", $patch: "delete" }] }),
      podPatch({ volumes: [{ name: "sec", secret: { secretName: "app-secret" } }], containers: [{ name: main, volumeMounts: [{ name: "sec", mountPath: "/etc/sec" }] }] }),
      { metadata: { labels: { patched: "yes" }, annotations: { "example.com/patched": "true" } } },
      podPatch({ serviceAccountName: null, containers: [{ name: main, ports: [{ containerPort: 9090, name: "metrics" }] }] }),
      { spec: { template: { metadata: { labels: { extra: "1" } } } } },
      podPatch({ containers: [{ name: "sidecar", args: ["sleep", "60"] }], tolerations: [{ key: "k", operator: "Exists" }] }),
      podPatch({ containers: [{ name: main, ports: [{ containerPort: 8080, protocol: "TCP", name: "main" }] }] }),
    ];
    return variants[variant % variants.length]!;
  }
  switch (p.kind) {
    case "Service":
      return [
        { spec: { ports: [{ name: "metrics", port: 9090 }] } },
        { spec: { ports: [{ port: 80, targetPort: 8081 }] } },
        { spec: { type: "NodePort" } },
        { spec: { selector: { app: null, role: "web" } } },
        { spec: { ports: [{ port: 80, protocol: "TCP", name: "web" }] } },
      ][variant % 5]!;
    case "ConfigMap":
      return [{ data: { level: "debug", added: "yes" } }, { data: { mode: null } }, { metadata: { annotations: { note: "patched" } } }][variant % 3]!;
    case "Secret":
      return [{ data: { extra: "eA==" } }, { stringData: { plain: "text" } }, { metadata: { labels: { patched: "yes" } } }][variant % 3]!;
    case "Widget":
      return [{ spec: { items: ["c"] } }, { spec: { size: 5, ref: null } }, { spec: { nested: { deep: { value: 1 } } } }][variant % 3]!;
    case "Ingress":
      return [{ spec: { rules: [{ host: "other.example.com" }] } }, { metadata: { annotations: { "nginx.ingress.kubernetes.io/rewrite-target": "/" } } }][variant % 2]!;
    case "CronJob":
      return [{ spec: { schedule: "0 * * * *" } }, { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "tick", image: "busybox:1.37" }] } } } } } }, { spec: { suspend: true } }][variant % 3]!;
    case "ServiceAccount":
      return [{ imagePullSecrets: [{ name: "regcred" }] }, { automountServiceAccountToken: false }][variant % 2]!;
    case "Role":
      return { rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] };
    case "RoleBinding":
      return { subjects: [{ kind: "ServiceAccount", name: "runner" }] };
    default:
      return { metadata: { labels: { patched: "yes" } } };
  }
}

/**
 * Two patches adding the same env var or the same Service port leave duplicate merge keys, which a later strategic
 * merge collapses as kyaml does (reliability bug 10, fixed, lists keyed by a pair included). `tag` varies the values
 * added.
 */
function jsonOps(p: Present, variant: number, tag: number): Obj[] {
  const generic: Obj[][] = [
    [{ op: "add", path: "/metadata/annotations/note", value: "json" }],
    [{ op: "add", path: "/metadata/annotations/json", value: "yes" }, { op: "test", path: "/kind", value: p.kind }],
  ];
  // Generated objects have no labels unless their options give some.
  if (p.labels.app) {
    generic.push([{ op: "replace", path: "/metadata/labels/app", value: "renamed" }], [{ op: "copy", from: "/metadata/labels/app", path: "/metadata/labels/copied" }], [{ op: "add", path: "/metadata/labels/json", value: "yes" }]);
  }
  const specific: Record<string, Obj[][]> = {
    Deployment: [[{ op: "replace", path: "/spec/replicas", value: 7 }], [{ op: "add", path: "/spec/template/spec/containers/0/env/-", value: { name: "ADDED", value: String(tag) } }], [{ op: "remove", path: "/spec/template/spec/containers/1" }]],
    StatefulSet: [[{ op: "replace", path: "/spec/serviceName", value: "headless" }], [{ op: "move", from: "/spec/template/spec/containers/0/env/0", path: "/spec/template/spec/containers/0/env/1" }]],
    Service: [[{ op: "add", path: "/spec/ports/-", value: { name: `https-${tag}`, port: 8443 } }], [{ op: "replace", path: "/spec/ports/0/port", value: 8080 }], [{ op: "add", path: "/spec/ports/-", value: { port: 80, protocol: "TCP" } }]],
    ConfigMap: [[{ op: "add", path: "/data/fromjson", value: "v" }], [{ op: "remove", path: "/data/level" }]],
    Widget: [[{ op: "add", path: "/spec/items/0", value: "z" }], [{ op: "replace", path: "/spec/size", value: "big" }]],
    CronJob: [[{ op: "replace", path: "/spec/jobTemplate/spec/template/spec/containers/0/image", value: "busybox:1.37" }]],
  };
  const all = [...(specific[p.kind] ?? []), ...generic];
  return all[variant % all.length]!;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

class Writer {
  /** The label maps each level and component really wrote, for the levels above. */
  readonly written = new Map<LayerSpec, Record<string, string>[]>();
  constructor(readonly dir: string) {}
  file(rel: string, content: string): void {
    const p = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

// YAML 1.1, as Kustomize reads it: `yes`, `on` and the like are quoted, so they stay strings.
const yamlText = (v: unknown): string => stringify(v, { lineWidth: 0, version: "1.1" });

/**
 * Writes the case under `dir` and returns the directory to build (relative to `dir`). Levels are `l0` (the base),
 * `l1`, `l2`; a level's component is `c<i>`.
 */
export function materialize(spec: CaseSpec, dir: string): string {
  const w = new Writer(dir);
  const img = IMAGES[spec.imageVariant % IMAGES.length]!;
  const present: Present[] = [];
  const added = new Set<CatalogName>();
  spec.layers.forEach((layer, i) => {
    const kdir = `l${i}`;
    const k = writeLevel(w, kdir, layer, present, added, img, i, i > 0 ? [`../l${i - 1}`] : [], false);
    if (layer.component) {
      const cdir = `c${i}`;
      // The component works on what the level accumulated (its resources and generators), before the level's
      // transformers; its names are what the objects are called there.
      const c = writeLevel(w, cdir, layer.component, present, added, img, i + 10, [], true);
      w.file(`${cdir}/kustomization.yaml`, yamlText(c));
      k.components = [`../${cdir}`];
    }
    applyLevelTransforms(w, layer, present);
    w.file(`${kdir}/kustomization.yaml`, yamlText(k));
  });
  return `l${spec.layers.length - 1}`;
}

type Kustomization = Record<string, unknown> & { components?: string[] };

function writeLevel(w: Writer, kdir: string, layer: LayerSpec, present: Present[], added: Set<CatalogName>, img: string[], level: number, below: string[], component: boolean): Kustomization {
  const k: Kustomization = component ? { apiVersion: "kustomize.config.k8s.io/v1alpha1", kind: "Component" } : {};
  const resources = [...below];
  // At least one resource at the base, so every case renders something.
  const extra = level === 0 && layer.extra.length === 0 ? (["deploy"] as CatalogName[]) : layer.extra;
  for (const name of extra) {
    if (added.has(name)) continue;
    added.add(name);
    const objs = catalogObjects(name, img);
    // A name taken by a generator below (app-config, app-secret) would make two objects with one id.
    if (objs.some((o) => present.some((p) => p.kind === o.kind && p.original === (o.metadata as { name: string }).name))) continue;
    w.file(`${kdir}/${name}.yaml`, objs.map((o) => yamlText(o)).join("---\n"));
    resources.push(`${name}.yaml`);
    for (const o of objs) {
      const md = o.metadata as { name: string; labels: Record<string, string> };
      present.push({ apiVersion: o.apiVersion as string, kind: o.kind as string, original: md.name, current: md.name, namespace: null, labels: { ...md.labels } });
    }
  }
  if (resources.length) k.resources = resources;

  // Generators: created ones join `present`; merge/replace name an existing object of their kind.
  const generators = (kind: "ConfigMap" | "Secret", specs: GenSpec[]): Obj[] => {
    const out: Obj[] = [];
    specs.forEach((g, j) => {
      const existing = present.filter((p) => p.kind === kind);
      const defaultName = kind === "ConfigMap" ? "app-config" : "app-secret";
      let name: string;
      let target: Present | undefined;
      if ((g.behavior === "merge" || g.behavior === "replace") && existing.length) {
        target = existing[g.pick % existing.length]!;
        name = target.original;
      } else {
        name = existing.some((p) => p.original === defaultName) || out.some((o) => o.name === defaultName) ? `gen-${kind === "ConfigMap" ? "cm" : "s"}-${level}-${j}` : defaultName;
      }
      const literals = [...new Map(g.literals).entries()].map(([a, b]) => `${a}=${b}`);
      const entry: Obj = { name, literals };
      if (g.behavior !== "default") entry.behavior = target ? g.behavior : "create";
      // With its namespace, a generator merges into the object's current id: only when it kept its name.
      if (g.withNamespace && target?.namespace && target.current === target.original) entry.namespace = target.namespace;
      const options: Obj = {};
      if (g.disableHash !== null) options.disableNameSuffixHash = g.disableHash;
      if (g.labels) options.labels = { generated: "yes" };
      if (Object.keys(options).length) entry.options = options;
      if (kind === "Secret" && g.secretType && !target) entry.type = "Opaque";
      out.push(entry);
      if (!target) present.push({ apiVersion: "v1", kind, original: name, current: name, namespace: null, labels: g.labels ? { generated: "yes" } : {} });
    });
    return out;
  };
  const cms = generators("ConfigMap", layer.configMaps);
  if (cms.length) k.configMapGenerator = cms;
  const secrets = generators("Secret", layer.secrets);
  if (secrets.length) k.secretGenerator = secrets;
  if (layer.generatorOptions) {
    k.generatorOptions = { disableNameSuffixHash: layer.generatorOptions.disableHash, ...(layer.generatorOptions.labels ? { labels: { fromOptions: "yes" } } : {}) };
  }

  // Patches.
  const patches: Obj[] = [];
  const legacySmp: string[] = [];
  const legacyJson: Obj[] = [];
  layer.patches.forEach((p, j) => {
    if (!present.length) return;
    const obj = present[p.pick % present.length]!;
    // The original name matches any id the object had (namespace `default` included); the current name matches
    // its current id, which holds its namespace.
    const name = p.currentName ? obj.current : obj.original;
    const namespace = p.currentName ? obj.namespace : null;
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
    let target: Obj | null = null;
    if (p.target !== "none" || p.style === "json") {
      switch (p.style === "json" && p.target === "none" ? "kindName" : p.target) {
        case "kindName":
          target = { kind: obj.kind, name };
          if (group) target.group = group;
          break;
        case "nameRegex":
          target = { kind: obj.kind, name: `${escapeRegex(name.slice(0, 2))}.*` };
          break;
        case "labelSelector":
          target = { kind: obj.kind, labelSelector: Object.entries(obj.labels).map(([a, b]) => `${a}=${b}`).join(",") || `app` };
          break;
        case "kindOnly":
          target = { kind: obj.kind, version: version! };
          break;
      }
      if (target && p.withNamespace && namespace) target.namespace = namespace;
    }
    let body: string;
    if (p.style === "smp") {
      const md: Obj = { name };
      if (namespace) md.namespace = namespace;
      const b = smpBody(obj, p.variant);
      const merged: Obj = { apiVersion: obj.apiVersion, kind: obj.kind, ...b, metadata: { ...md, ...((b.metadata as Obj | undefined) ?? {}) } };
      body = yamlText(merged);
    } else {
      body = yamlText(jsonOps(obj, p.variant, level * 10 + j));
    }
    if (p.field === "legacy" && !component) {
      const file = `patch-${j}.yaml`;
      w.file(`${kdir}/${file}`, body);
      if (p.style === "smp" && !target) legacySmp.push(file);
      else if (p.style === "json" && target?.name) legacyJson.push({ target: { ...target, ...(target.version ? {} : { version: version! }) }, path: file });
      else patches.push({ path: file, ...(target ? { target } : {}) });
    } else if (p.field === "file") {
      const file = `patch-${j}.yaml`;
      w.file(`${kdir}/${file}`, body);
      patches.push({ path: file, ...(target ? { target } : {}) });
    } else {
      patches.push({ patch: body, ...(target ? { target } : {}) });
    }
  });
  if (patches.length) k.patches = patches;
  if (legacySmp.length) k.patchesStrategicMerge = legacySmp;
  if (legacyJson.length) k.patchesJson6902 = legacyJson;

  if (layer.images.length) {
    k.images = layer.images.map((im) => {
      const e: Obj = { name: im.name };
      if (im.newName) e.newName = im.newName;
      if (im.digest) e.digest = "sha256:" + "c".repeat(64);
      else if (im.newTag) e.newTag = im.newTag;
      return e;
    });
  }
  const scalable = present.filter((p) => p.kind === "Deployment" || p.kind === "StatefulSet");
  if (layer.replicas.length && scalable.length) {
    k.replicas = layer.replicas.map((r) => {
      const o = scalable[r.pick % scalable.length]!;
      return { name: r.pick % 3 === 2 ? o.current : o.original, count: r.count };
    });
  }
  // A label key may be set again by a later entry or level, with other field specs: kustomize then writes the value
  // it shares among the fields the first transformer created (reliability bug 11, fixed).
  const commonLabels = layer.commonLabels;
  const labels = layer.labels.map((l) => ({ pairs: l.pairs, includeSelectors: l.includeSelectors, includeTemplates: l.includeTemplates }));
  // In Kustomize's order: the labels entries, then commonLabels.
  w.written.set(layer, [...labels.map((l) => l.pairs), commonLabels ?? {}]);
  if (commonLabels) k.commonLabels = commonLabels;
  if (labels.length) k.labels = labels;
  // Components carry labels, not a name, namespace or annotations of their own here.
  if (component) return k;
  if (layer.namePrefix) k.namePrefix = layer.namePrefix;
  if (layer.nameSuffix) k.nameSuffix = layer.nameSuffix;
  if (layer.namespace) k.namespace = layer.namespace;
  if (layer.commonAnnotations) k.commonAnnotations = layer.commonAnnotations;
  return k;
}

/** What the levels above see after this level's transformers: names, namespaces and labels as they are now. */
function applyLevelTransforms(w: Writer, layer: LayerSpec, present: Present[]): void {
  for (const p of present) {
    p.current = `${layer.namePrefix ?? ""}${p.current}${layer.nameSuffix ?? ""}`;
    if (layer.namespace) p.namespace = layer.namespace;
    for (const l of [...(layer.component ? (w.written.get(layer.component) ?? []) : []), ...(w.written.get(layer) ?? [])]) {
      Object.assign(p.labels, l);
    }
  }
}

/** Every file of the case, for a failure message (the tree is also left on disk). */
export function describeCase(dir: string): string {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out.push(`--- ${r}\n${fs.readFileSync(path.join(dir, r), "utf8")}`);
    }
  };
  walk(".");
  return out.join("");
}

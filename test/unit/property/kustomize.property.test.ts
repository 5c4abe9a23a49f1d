// Property test of the kustomize renderer (src/render/kustomize) against the oracle, `kubectl kustomize` (issue 17
// part 6): generated overlays (test/support/kustomize-gen.ts: a base and up to two overlays, components,
// strategic-merge and JSON 6902 patches, namePrefix/nameSuffix, namespace, commonLabels, labels, commonAnnotations,
// images, replicas, ConfigMap and Secret generators with behavior create/merge/replace) are rendered by both:
//   - when kubectl builds the case, Mooring builds it too, with the same objects (keyed by apiVersion, kind,
//     namespace and name, compared whole) in the same order, through renderKustomize() and through render() (the
//     post-render checks `mooring render` and the controller run);
//   - when kubectl refuses it, Mooring refuses it too.
// 40 cases in `make unit` (kubectl is a process per case); FC_RUNS=<n> for a long run. A failure prints
// fast-check's seed and path (FC_SEED=<seed> FC_PATH=<path> replays the case), the case's files and the directory it
// was left in. Failures are not shrunk by default (each step runs kubectl: minutes); MOORING_KUSTOMIZE_SHRINK=1 shrinks.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { caseSpec, describeCase, materialize } from "../../support/kustomize-gen.js";
import { difference, expectBothRefuse, expectSameAsKubectl, kubectlKustomize, mooring, writeCase } from "../render/kustomize/oracle.js";
import { fcParams } from "./params.js";

void describe("kustomize renderer against kubectl kustomize on generated overlays", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-kustomize-property-"));
  let failed = false;
  const stats = { cases: 0, built: 0, refused: 0, objects: 0 };
  after(() => {
    console.log(`# ${stats.cases} cases: ${stats.built} built by both (${stats.objects} objects), ${stats.refused} refused by both`);
    if (!failed) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`# failing cases left in ${work}`);
  });

  void it("renders every generated overlay as kubectl kustomize does, or refuses it as kubectl does", async () => {
    await fc.assert(
      fc.asyncProperty(process.env.MOORING_KUSTOMIZE_SHRINK === "1" ? caseSpec : fc.noShrink(caseSpec), async (spec) => {
        const dir = fs.mkdtempSync(path.join(work, "case-"));
        const target = materialize(spec, dir);
        stats.cases++;
        const want = await kubectlKustomize(path.join(dir, target));
        const got = mooring(dir, target);
        let problem: string | undefined;
        if (want.ok && !got.ok) problem = `kubectl builds it, mooring refuses it: ${got.error}`;
        else if (!want.ok && got.ok) problem = `kubectl refuses it (${want.error}), mooring builds it`;
        else if (want.ok && got.ok) problem = difference(want.objects, got.objects) ?? difference(want.objects, got.viaRender)?.replace(/^/, "render(): ");
        if (problem) {
          failed = true;
          throw new Error(`${problem}\n\ncase ${dir} (build ${target}):\n${describeCase(dir)}`);
        }
        if (want.ok) {
          stats.built++;
          stats.objects += want.objects.length;
        } else stats.refused++;
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      fcParams(40),
    );
    // The generator is meant to make overlays kubectl accepts: a property that only sees refusals proves little.
    assert.ok(stats.built >= stats.cases * 0.6, `only ${stats.built} of ${stats.cases} generated cases were built by kubectl`);
  });
});

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        env:
        - {name: MODE, value: prod}
        - {name: LEVEL, value: info}
        - {name: MODE, value: dev}
`;

// Differences the property test found (docs/reliability.md): the fixed ones as regression tests, the others as todo
// tests; the generator avoids the inputs that show those, so the property stays a check of everything else.
void describe("kustomize differences from kubectl kustomize found by the property test", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-kustomize-known-"));
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  // Fixed: env holds MODE=dev (the last duplicate, at the first one's place) and LEVEL, though the patch does not
  // even name env; before the fix Mooring kept the three entries.
  void it("reliability bug 10 (fixed): a strategic merge patch collapses duplicate merge keys of the target's lists, as kyaml does", async () => {
    const dir = writeCase(work, {
      "deploy.yaml": DEPLOYMENT,
      "kustomization.yaml": "resources: [deploy.yaml]\npatches:\n- patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec: {replicas: 3}\n",
    });
    await expectSameAsKubectl(dir, "");
  });

  // Fixed: kubectl keeps one port 80 (the last duplicate) and drops the patch's item; Mooring kept both duplicates.
  // More cases (container ports, items without a key, lists the patch does not name):
  // test/unit/render/kustomize/merge-keys.test.ts.
  void it("reliability bug 10, remaining part (fixed): duplicates in a list keyed by a pair (Service ports) once a patch item carries both keys", async () => {
    const dir = writeCase(work, {
      "svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, name: a}\n  - {port: 80, name: b}\n  - {port: 81}\n",
      "kustomization.yaml": "resources: [svc.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n    spec:\n      ports:\n      - {port: 80, protocol: TCP, name: c}\n",
    });
    const objs = await expectSameAsKubectl(dir, "");
    assert.deepEqual((objs[0] as unknown as { spec: { ports: unknown } }).spec.ports, [{ port: 80, name: "b" }, { port: 81 }]);
  });

  // Fixed: kubectl keeps `data: {}`, `labels: {}` and a template's `nodeSelector: {}` that a patch emptied with nulls
  // (and so the ConfigMap's hash covers the empty data); only the object's own annotations are dropped. Mooring
  // dropped them all.
  void it("reliability bug 12 (fixed): a map a strategic merge patch empties with nulls stays, empty, unless it is the object's annotations", async () => {
    const dir = writeCase(work, {
      "r.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {a: '1'}, labels: {l: '1'}}\ndata: {mode: prod}\n---\n" + DEPLOYMENT.replace("metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {x: '1'}}"),
      "kustomization.yaml": [
        "resources: [r.yaml]",
        "configMapGenerator:",
        "- {name: gen, literals: [k=v]}",
        "patches:",
        "- patch: |",
        "    {apiVersion: v1, kind: ConfigMap, metadata: {name: c, annotations: {a: null}, labels: {l: null}}, data: {mode: null}}",
        "- patch: |",
        "    {apiVersion: v1, kind: ConfigMap, metadata: {name: gen}, data: {k: null}}",
        "- patch: |",
        "    {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {metadata: {annotations: {x: null}}}}}",
        "",
      ].join("\n"),
    });
    await expectSameAsKubectl(dir, "");
  });

  // Fixed: a legacy patchesJson6902 entry sees metadata.annotations only when the object holds Kustomize's build
  // annotations (a previous id recorded by a namespace or a prefix, a generated object); so `add
  // /metadata/annotations/note` fails on a plain object there, and works after a prefix or in `patches` (which records
  // the previous id first). Mooring always added the map, so built what kubectl refuses.
  void it("reliability bug 13 (fixed): a patchesJson6902 entry finds metadata.annotations only on an object holding build annotations", async () => {
    const op = '[{"op": "add", "path": "/metadata/annotations/note", "value": "json"}]';
    const legacy = (name: string): string => `patchesJson6902:\n- target: {group: apps, version: v1, kind: Deployment, name: ${name}}\n  patch: '${op}'\n`;
    const dir = writeCase(work, {
      "base/deploy.yaml": DEPLOYMENT,
      "base/kustomization.yaml": "resources: [deploy.yaml]\n",
      "plain/kustomization.yaml": `resources: [../base]\n${legacy("web")}`,
      "prefixed/kustomization.yaml": `resources: [../base]\nnamePrefix: p-\n${legacy("p-web")}`,
      "patches/kustomization.yaml": `resources: [../base]\npatches:\n- target: {kind: Deployment}\n  patch: '${op}'\n`,
    });
    assert.match(await expectBothRefuse(dir, "plain"), /missing path|annotations/);
    for (const t of ["prefixed", "patches"]) {
      const objs = await expectSameAsKubectl(dir, t);
      assert.equal((objs[0]!.metadata as { annotations?: Record<string, string> }).annotations?.note, "json", t);
    }
  });

  // Fixed: kustomize's JSON patch library copies null from a missing key of an existing map (its lookup returns no
  // node and no error), so kubectl prints `copied: null`; a missing key under a missing map, or a move, still fails.
  // Mooring refused every copy from a missing path.
  void it("reliability bug 14 (fixed): a JSON 6902 copy from a missing key of a map copies null", async () => {
    const patch = (op: string, from: string): string => `patches:\n- target: {kind: Deployment}\n  patch: '[{"op": "${op}", "from": "${from}", "path": "/metadata/labels/copied"}]'\n`;
    const dir = writeCase(work, {
      "base/deploy.yaml": DEPLOYMENT,
      "base/kustomization.yaml": "resources: [deploy.yaml]\n",
      "copy/kustomization.yaml": `resources: [../base]\n${patch("copy", "/metadata/labels/nope")}`,
      "copydeep/kustomization.yaml": `resources: [../base]\n${patch("copy", "/metadata/nomap/nope")}`,
      "move/kustomization.yaml": `resources: [../base]\n${patch("move", "/metadata/labels/nope")}`,
    });
    const objs = await expectSameAsKubectl(dir, "copy");
    assert.equal((objs[0]!.metadata as { labels?: Record<string, unknown> }).labels?.copied, null);
    await expectBothRefuse(dir, "copydeep");
    await expectBothRefuse(dir, "move");
  });

  // Fixed: commonLabels (o1) creates tier in metadata, the selector and the template with one shared node; labels
  // without includeSelectors (o2) sets metadata's tier in place, so kubectl prints tier: b in all three. Mooring
  // changed only metadata's. More cases: test/unit/render/kustomize/shared-values.test.ts.
  void it("reliability bug 11 (fixed): a label key set by a later labels entry changes every field the earlier transformer created it in", async () => {
    const dir = writeCase(work, {
      "base/deploy.yaml": DEPLOYMENT,
      "base/kustomization.yaml": "resources: [deploy.yaml]\n",
      "o1/kustomization.yaml": "resources: [../base]\ncommonLabels: {tier: a}\n",
      "o2/kustomization.yaml": "resources: [../o1]\nlabels:\n- pairs: {tier: b}\n",
    });
    const objs = await expectSameAsKubectl(dir, "o2");
    const d = objs[0] as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
    assert.equal(d.spec.selector.matchLabels.tier, "b", "kubectl no longer shows the sharing: the case proves nothing");
  });
});

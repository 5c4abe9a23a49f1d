// Install-only hooks in an upgrade render (issue 22, src/render/helm/hooks.ts). Helm's upgrade never runs a
// pre-install/post-install hook again. In Mooring a Job or Pod hook's name carries a hash of its content, so an
// install-only Job kept in an upgrade render whose content changed (a new chart version in its labels, a new image)
// would be a new object, and run: an upgrade render drops install-only Jobs and Pods, and keeps the other
// install-only hooks (a Secret, a Service) in place, which dropping would prune. The last case renders a real chart
// with the pinned helm (`make tools`), as the controller does for an install and then an upgrade.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { render } from "../../../../src/render/index.js";
import { applyHooks, SYNC_WAVE_ANNOTATION } from "../../../../src/render/helm/hooks.js";
import type { KubeObject } from "../../../../src/render/objects.js";
import { helmBinary } from "../../../support/helm.js";

const hook = (kind: string, name: string, events: string, spec: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: kind === "Job" ? "batch/v1" : "v1",
    kind,
    metadata: { name, annotations: { "helm.sh/hook": events } },
    spec: { template: { spec: { containers: [{ name: "c", image: "img:1" }] } }, ...spec },
  }) as KubeObject;
const plain: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app" }, data: { a: "b" } } as KubeObject;
const shape = (os: KubeObject[]) => os.map((o) => `${o.kind}/${o.metadata.name.replace(/-[0-9a-f]{10}$/, "-<hash>")}@${o.metadata.annotations?.[SYNC_WAVE_ANNOTATION] ?? "-"}`);

void describe("install-only hooks in an upgrade render", () => {
  const objects = (image: string) => [
    plain,
    hook("Job", "init-db", "pre-install", { template: { spec: { containers: [{ name: "c", image }] } } }),
    hook("Pod", "seed", "post-install", { containers: [{ name: "c", image }] }),
    hook("Secret", "generated", "pre-install"),
    hook("Service", "early", "pre-install"),
    hook("Job", "migrate", "pre-install,pre-upgrade", { template: { spec: { containers: [{ name: "c", image }] } } }),
    hook("Job", "check", "pre-upgrade"),
  ];

  void it("an install render runs the install Jobs and Pods, with content-hashed names", () => {
    assert.deepEqual(shape(applyHooks(objects("img:1"), { waves: true })), [
      "ConfigMap/app@-",
      "Job/init-db-<hash>@-1",
      "Pod/seed-<hash>@1",
      "Secret/generated@-1",
      "Service/early@-1",
      "Job/migrate-<hash>@-1",
    ]);
  });

  void it("an upgrade render drops install-only Jobs and Pods whatever their content, keeps the other install-only hooks, runs the upgrade ones", () => {
    for (const image of ["img:1", "img:2"]) {
      const out = applyHooks(objects(image), { waves: true, isUpgrade: true });
      assert.deepEqual(shape(out), ["ConfigMap/app@-", "Secret/generated@-1", "Service/early@-1", "Job/migrate-<hash>@-1", "Job/check-<hash>@-1"], image);
    }
    // A hook for both events is one that runs on an upgrade too: a changed one is a new Job (before-hook-creation).
    const migrate = (image: string, isUpgrade: boolean) => applyHooks(objects(image), { waves: true, isUpgrade }).find((o) => o.metadata.name.startsWith("migrate-"))!.metadata.name;
    assert.equal(migrate("img:1", false), migrate("img:1", true));
    assert.notEqual(migrate("img:1", true), migrate("img:2", true));
  });

  void it("without an Application (mooring render) every non-test hook is printed as helm printed it, upgrade or not", () => {
    assert.deepEqual(applyHooks(objects("img:2"), { waves: false, isUpgrade: true }), objects("img:2"));
  });
});

void describe("a Go chart's install-only hook Job across a chart upgrade", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mooring-hooks-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const chart = (version: string) => {
    const dir = path.join(tmp, version);
    mkdirSync(path.join(dir, "templates"), { recursive: true });
    writeFileSync(path.join(dir, "Chart.yaml"), `apiVersion: v2\nname: db\nversion: ${version}\n`);
    writeFileSync(path.join(dir, "templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-db\ndata:\n  version: {{ .Chart.Version | quote }}\n");
    // The chart's version is in the Job, as the helm.sh/chart label of most charts puts it there.
    writeFileSync(
      path.join(dir, "templates/init.yaml"),
      [
        "apiVersion: batch/v1",
        "kind: Job",
        "metadata:",
        "  name: {{ .Release.Name }}-init",
        "  labels:",
        "    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}",
        "  annotations:",
        "    helm.sh/hook: pre-install",
        "spec:",
        "  template:",
        "    spec:",
        "      restartPolicy: Never",
        "      containers: [{ name: init, image: db-init }]",
        "",
      ].join("\n"),
    );
    return version;
  };
  const opts = (isUpgrade: boolean) => ({ helm: { helmBinary: helmBinary(), releaseName: "rel", isUpgrade }, application: { namespace: "apps", name: "db" } });

  void it("runs at the install and is not in the upgrade render of the next chart version", () => {
    const install = render(tmp, chart("1.0.0"), opts(false)).objects;
    assert.deepEqual(shape(install).sort(), ["ConfigMap/rel-db@-", "Job/rel-init-<hash>@-1"], "the install render runs the hook Job, in a wave before the rest");
    const upgrade = render(tmp, chart("1.1.0"), opts(true)).objects;
    assert.deepEqual(upgrade.map((o) => `${o.kind}/${o.metadata.name}`), ["ConfigMap/rel-db"], "the upgrade render has no install-only Job to run again");
    assert.equal((upgrade[0] as unknown as { data: { version: string } }).data.version, "1.1.0");
  });
});

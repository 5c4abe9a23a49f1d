// Tests findable by name (issue 15): the unit test of src/a/b.ts is test/unit/a/b.test.ts. Every module with logic has
// one, except those listed below, each with why: declarative (types, schemas, constants, re-exports, data tables),
// or meaningful only against a cluster or a server (the integration test that runs it is named and must exist). The
// list must stay true: an entry whose module is gone or now has its unit test fails the test until it is removed.
// A new module with logic gets its unit test: there is no "not yet" category. Integration tests are named by feature
// (test/integration/<area>/<feature>.test.ts) and are not checked here.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../../..");

type Exemption = { why: "declarative"; what: string } | { why: "cluster"; tests: string[] };
const declarative = (what: string): Exemption => ({ why: "declarative", what });
/** Run against a real API server (or a real Git/Helm server) by these integration tests. */
const cluster = (...tests: string[]): Exemption => ({ why: "cluster", tests });

/** Modules without test/unit/<path>.test.ts, by path under src/. */
const NO_UNIT_TEST: Record<string, Exemption> = {
  // api: the TypeBox schemas are data; validate.test.ts, crd.test.ts and types.test.ts check what is derived from them.
  "api/application.ts": declarative("the Application schema"),
  "api/constants.ts": declarative("groups, versions, field managers, annotations, condition types and reasons"),
  "api/gitrepository.ts": declarative("the GitRepository schema"),
  "api/health-rules.ts": declarative("the health rule schema"),
  "api/helm.ts": declarative("the HelmRepository and HelmChart schemas"),
  "api/index.ts": declarative("re-exports"),
  "api/install.ts": cluster("test/integration/api/crds.test.ts", "test/integration/node/process-node.test.ts"),
  "api/notification.ts": declarative("the Provider and Alert schemas"),
  "api/schema.ts": declarative("schema building blocks (conditions, object references, the inventory id pattern)"),
  "api/syncpolicy.ts": declarative("the SyncPolicy schema"),

  "apply/applier.ts": cluster("test/integration/apply/features.test.ts", "test/integration/apply/ownership.test.ts"),
  "apply/clusters.ts": cluster("test/integration/remote/clusters.test.ts"),
  "apply/controller.ts": cluster("test/integration/apply/pipeline.test.ts", "test/integration/apply/lifecycle.test.ts"),
  "apply/execute.ts": cluster("test/integration/apply/waves.test.ts", "test/integration/apply/features.test.ts"),
  "apply/observe.ts": cluster("test/integration/apply/drift.test.ts", "test/integration/apply/health.test.ts"),
  "apply/prune.ts": cluster("test/integration/apply/lifecycle.test.ts", "test/integration/apply/rbac-names.test.ts"),
  "apply/sync.ts": cluster("test/integration/apply/waves.test.ts", "test/integration/apply/features.test.ts"),
  "apply/watches.ts": cluster("test/integration/apply/releasable-watches.test.ts", "test/integration/apply/watch-denied.test.ts"),

  "cli/get-commands.ts": cluster("test/integration/cli/get-events.test.ts"),
  "cli/main.ts": cluster("test/integration/cli/with-controllers.test.ts", "test/integration/chart/runtime-layout.test.ts"),
  "cli/ops-commands.ts": cluster("test/integration/cli/ops.test.ts", "test/integration/cli/history-rollback.test.ts"),
  "controllers.ts": cluster("test/integration/cli/with-controllers.test.ts", "test/integration/tenancy/lockdown.test.ts"),
  "index.ts": declarative("re-exports of the library's entry points"),

  "notify/controller.ts": cluster("test/integration/notify/providers.test.ts"),

  "operator.ts": cluster("test/integration/cli/with-controllers.test.ts", "test/integration/operator/preflight.test.ts"),
  "policy/controller.ts": cluster("test/integration/policy/controller.test.ts"),
  "preflight.ts": cluster("test/integration/operator/preflight.test.ts"),

  "render/helm/capabilities.ts": cluster("test/integration/source/helmchart.test.ts", "test/integration/render/controller.test.ts"),
  "render/inputs.ts": cluster("test/integration/render/controller.test.ts", "test/integration/render/controller-failures.test.ts"),
  "render/kustomize/fieldspecs-data.ts": declarative("Kustomize's built-in field specs, a data table"),
  "render/source-limits.ts": declarative("the source download limits and their error type"),
  "render/source-ref.ts": cluster("test/integration/render/controller-failures.test.ts"),

  "runtime/client.ts": cluster("test/integration/runtime/client.test.ts"),
  "runtime/connect.ts": cluster("test/integration/api/crds.test.ts"),
  "runtime/events.ts": cluster("test/integration/runtime/client.test.ts"),
  "runtime/finalizers.ts": cluster("test/integration/runtime/client.test.ts", "test/integration/runtime/manager.test.ts"),
  "runtime/index.ts": declarative("re-exports: the runtime library's public API"),
  "runtime/leaderlabel.ts": cluster("test/integration/runtime/manager.test.ts", "test/integration/chart/install.test.ts"),
  "runtime/manager.ts": cluster("test/integration/runtime/manager.test.ts"),
  "runtime/restmapper.ts": cluster("test/integration/runtime/client.test.ts", "test/integration/runtime/informer.test.ts"),

  "source/controller.ts": cluster("test/integration/source/controller.test.ts"),
  "source/git-reconcile.ts": cluster("test/integration/source/controller.test.ts", "test/integration/source/failures.test.ts"),
  "source/git.ts": cluster("test/integration/source/git.test.ts", "test/integration/source/auth.test.ts"),
  "source/helm-fetch.ts": cluster("test/integration/source/helm-repo.test.ts", "test/integration/source/helmchart.test.ts"),
  "source/helm-git-build.ts": cluster("test/integration/source/helm-gitchart.test.ts"),
  "source/helm-oci.ts": cluster("test/integration/source/helm-oci.test.ts", "test/integration/source/helm-oci-token.test.ts"),
  "source/helm-reconcile.ts": cluster("test/integration/source/helmchart.test.ts", "test/integration/source/helm-repo.test.ts"),
  "source/helm-repo.ts": cluster("test/integration/source/helm-repo.test.ts"),
  "source/helmchart.ts": cluster("test/integration/source/helmchart.test.ts"),
  "source/http.ts": cluster("test/integration/source/git.test.ts", "test/integration/source/auth.test.ts"),
  "source/index.ts": cluster("test/integration/source/setup.test.ts"),
  "source/pack.ts": cluster("test/integration/source/packindex.test.ts", "test/integration/source/pack-bomb.test.ts"),
  "source/sync.ts": cluster("test/integration/source/sync.test.ts"),

  // The web UI: the browser's modules run in test/integration/ui/browser.test.ts.
  "ui/client/app.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/apps.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/dom.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/main.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/policies.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/rows.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/sources.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/client/store.ts": cluster("test/integration/ui/browser.test.ts"),
  "ui/model.ts": declarative("the UI's view types"),
  "ui/server.ts": cluster("test/integration/ui/browser.test.ts"),
};

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path.join(dir, e.name)] : [],
  );
}

const SRC = path.join(ROOT, "src");
const all = modules(SRC)
  .map((f) => path.relative(SRC, f).split(path.sep).join("/"))
  .sort();
const unitTestOf = (rel: string) => path.join(ROOT, "test/unit", rel.replace(/\.ts$/, ".test.ts"));

describe("tests findable by name", () => {
  it("every module in src/ has test/unit/<path>.test.ts, or is listed with why", () => {
    const missing = all.filter((m) => !existsSync(unitTestOf(m)) && !(m in NO_UNIT_TEST));
    assert.deepEqual(missing, [], "write test/unit/<path>.test.ts for these (or list one in NO_UNIT_TEST with why)");
  });

  it("the list holds no module that is gone or now has its unit test", () => {
    const stale = Object.keys(NO_UNIT_TEST).filter((m) => !all.includes(m) || existsSync(unitTestOf(m)));
    assert.deepEqual(stale, [], "remove these from NO_UNIT_TEST");
  });

  it("every test the list names exists", () => {
    const named = Object.values(NO_UNIT_TEST).flatMap((e) => (e.why === "cluster" ? e.tests : []));
    assert.deepEqual([...new Set(named)].filter((t) => !existsSync(path.join(ROOT, t))), []);
  });
});

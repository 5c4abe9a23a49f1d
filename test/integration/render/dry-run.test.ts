// The objects the renderers produce are accepted by a real kube-apiserver: every object of a chart, of kustomize
// overlays and of plain manifests is created with server-side dry run in a namespace of its own. This catches what
// parsed-object equality cannot: `defaultMode: 0644` read as 644, a number where the API wants a string, bad names.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { render, type RenderOptions } from "../../../src/render/index.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/render");

void describe("rendered objects pass server-side dry run", () => {
  let c: TestCluster;
  let ns: TestNamespace;
  before(async () => {
    c = await testCluster();
    ns = await createTestNamespace(c, "render");
  });
  after(async () => {
    await ns?.cleanup();
  });

  async function dryRun(dir: string, p: string, opts: RenderOptions): Promise<number> {
    const out = render(dir, p, { targetNamespace: ns.name, namespaceMode: "override", application: { namespace: ns.name, name: "dry-run" }, ...opts });
    assert.ok(out.objects.length > 0);
    for (const o of out.objects) {
      try {
        await c.objects.create(o as KubernetesObject, undefined, "All", "mooring-render-test");
      } catch (err) {
        assert.fail(`${o.kind} ${o.metadata.name} from ${p || dir} was refused: ${(err as Error).message.slice(0, 400)}`);
      }
    }
    return out.objects.length;
  }

  void it("the Handlebars chart fixture, with ingress and subchart", async () => {
    const n = await dryRun(path.join(FIXTURES, "helm/webapp"), "", {
      helm: { releaseName: "shop", values: { ingress: { enabled: true, host: "shop.example.com" } } },
    });
    assert.equal(n, 5);
  });

  for (const fixture of [
    "05-nameref-configmap",
    "06-nameref-secret",
    "09-common-labels",
    "26-secret-generator",
    "28-generator-behavior/overlay",
    "30-overlay-chain/overlay",
    "44-yaml-scalars",
  ]) {
    void it(`kustomize fixture ${fixture}`, async () => {
      const [name, sub] = fixture.split("/");
      await dryRun(path.join(FIXTURES, "kustomize", name!), sub ?? "", { type: "kustomize" });
    });
  }

  void it("plain manifests, with overrides and substitution", async () => {
    const n = await dryRun(path.join(FIXTURES, "plain"), "basic", { overrides: { namePrefix: "plain-" }, substitute: {} });
    assert.equal(n, 5);
  });
});

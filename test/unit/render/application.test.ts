import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { render, renderCacheKey, renderOptionsFor, APPLICATION_LABEL } from "../../../src/render/index.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/render");
const app = { namespace: "shop", name: "web" };

void describe("render options from an Application", () => {
  void it("maps path, helm, kustomize overrides, substitution and targetNamespace", () => {
    const { path: p, options } = renderOptionsFor(
      app,
      {
        path: "helm/webapp",
        render: {
          type: "helm",
          helm: { values: { replicas: 3 } },
          kustomize: { namePrefix: "eu-", images: [{ name: "redis", newTag: "7.4" }] },
          substitute: { region: "eu", REGION: "EU" },
        },
      },
      { valuesFrom: [{ replicas: 1, config: { greeting: "${region}" } }], substituteFrom: { region: "us", other: "x" } },
    );
    assert.equal(p, "helm/webapp");
    const out = render(FIXTURES, p, options);
    const d = out.objects.find((o) => o.kind === "Deployment")!;
    assert.equal(d.metadata.name, "eu-web-webapp", "release name defaults to the Application's name; prefix applied");
    assert.equal(d.metadata.namespace, "shop");
    assert.equal(d.metadata.labels?.[APPLICATION_LABEL], "shop.web");
    assert.equal((d.spec as { replicas: number }).replicas, 3, "inline values win over valuesFrom");
    const cm = out.objects.find((o) => o.kind === "ConfigMap")!;
    assert.equal((cm.data as Record<string, string>).greeting, "eu", "substitute wins over substituteFrom");
    const sts = out.objects.find((o) => o.kind === "StatefulSet")!;
    assert.match(JSON.stringify(sts), /redis:7\.4/);
  });

  void it("leaves substitution off unless the Application asks for it, and defaults path and type", () => {
    const { path: p, options } = renderOptionsFor(app, {});
    assert.equal(p, "./");
    assert.equal(options.type, "auto");
    assert.equal(options.substitute, undefined);
    assert.equal(options.targetNamespace, "shop");
    assert.deepEqual(renderOptionsFor(app, { render: { substituteFrom: [{ kind: "ConfigMap", name: "vars" }] } }, { substituteFrom: { a: "1" } }).options.substitute, { a: "1" });
  });

  void it("cache keys change with what changes the output, not with map key order", () => {
    const spec = { path: "p", render: { helm: { values: { a: 1, b: 2 } } } };
    const k = renderCacheKey("sha256:aa", app, spec, { valuesFrom: [{ x: 1 }] });
    assert.equal(renderCacheKey("sha256:aa", app, { render: { helm: { values: { b: 2, a: 1 } } }, path: "p" }, { valuesFrom: [{ x: 1 }] }), k);
    assert.notEqual(renderCacheKey("sha256:ab", app, spec, { valuesFrom: [{ x: 1 }] }), k);
    assert.notEqual(renderCacheKey("sha256:aa", app, spec, { valuesFrom: [{ x: 2 }] }), k);
    assert.notEqual(renderCacheKey("sha256:aa", app, { ...spec, targetNamespace: "other" }, { valuesFrom: [{ x: 1 }] }), k);
  });
});

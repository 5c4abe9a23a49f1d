// Custom health rules on the real cluster: a cert-manager-shaped Certificate CRD is installed, the apply controller
// runs with the chart's default rules (--health-rules-file), and the test plays cert-manager, writing the
// Certificate's status (a status the code under test never writes). The CEL rules gate sync waves and Ready; an
// Application's own rule wins over the default; a rule that does not compile stops only its Application, by name.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { REPO_ROOT } from "../../support/cluster.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;
const CRD = "certificates.cert-manager.io";
const CertificateKind = { group: "cert-manager.io", version: "v1", kind: "Certificate", plural: "certificates", namespaced: true };

before(async () => {
  h = await startHarness({ prefix: "health-rules", healthRulesFile: path.join(REPO_ROOT, "charts/mooring/files/health-rules.yaml") });
  // A cert-manager-shaped CRD (structure as cert-manager's: spec and a status subresource with conditions).
  await h.admin.apply(
    {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: CRD },
      spec: {
        group: "cert-manager.io",
        names: { kind: "Certificate", listKind: "CertificateList", plural: "certificates", singular: "certificate", shortNames: ["cert"] },
        scope: "Namespaced",
        versions: [{
          name: "v1", served: true, storage: true, subresources: { status: {} },
          schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true }, status: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } },
        }],
      },
    },
    { force: true },
  );
  await waitFor(`CRD ${CRD} established`, async () => {
    const crd = await h.admin.live().get(Kinds.CustomResourceDefinition, CRD);
    return ((crd?.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True");
  });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const wave = (obj: KubeObject, w: number): KubeObject => ({ ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), "delivery.mooring.dev/sync-wave": String(w) } } });
const certificate = (name: string): KubeObject => ({ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name }, spec: { secretName: `${name}-tls`, dnsNames: [`${name}.example.com`], issuerRef: { name: "letsencrypt", kind: "ClusterIssuer" } } });
const cm = (name: string) => h.admin.get(Kinds.ConfigMap, name, h.ns.name);
const t = "2026-12-01T10:00:00Z";

/** The test as cert-manager: writes the Certificate's status (its own field manager). */
async function certStatus(name: string, conditions: Record<string, string>[]): Promise<void> {
  await h.admin.applyStatus({ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name, namespace: h.ns.name }, status: { conditions: conditions.map((c) => ({ lastTransitionTime: t, ...c })) } }, { fieldManager: "cert-manager-certificates-readiness", force: true });
}

describe("a Certificate's readiness, judged by the default CEL rule, gates sync waves and Ready", () => {
  it("wave 1 waits while the Certificate has no status, then while it is issuing", async () => {
    await h.createApp("certs");
    await h.publish("certs", [wave(certificate("web"), 0), wave(configMap("after-cert", { a: "1" }), 1)]);
    const a = await h.waitApp("certs", "waiting for wave 0", (a) => /waiting for wave 0 to be healthy before applying wave 1/.test(condition(a, "Synced")?.message ?? "") && a, 60_000);
    assert.match(condition(a, "Synced")!.message, /Certificate .*web: not current yet \(default rule \[0\] \(cert-manager\.io\/v1 Certificate\)\)/);
    assert.ok(await h.admin.get(CertificateKind, "web", h.ns.name), "wave 0 applied");
    assert.equal(await cm("after-cert"), undefined, "wave 1 not applied");

    await certStatus("web", [{ type: "Ready", status: "False", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" }, { type: "Issuing", status: "True", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" }]);
    const issuing = await h.waitApp("certs", "in progress by the rule", (a) => /in progress \(default rule \[0\]/.test(condition(a, "Synced")?.message ?? "") && a, 60_000);
    assert.match(condition(issuing, "Synced")!.message, /DoesNotExist: Issuing certificate as Secret does not exist/);
    assert.equal(await cm("after-cert"), undefined, "wave 1 still not applied");
  });

  it("once cert-manager says Ready, wave 1 is applied and the Application is Ready and Healthy", async () => {
    await certStatus("web", [{ type: "Ready", status: "True", reason: "Ready", message: "Certificate is up to date and has not expired" }]);
    const a = await h.waitApp("certs", "Ready=True", (a) => condition(a, "Ready")?.status === "True" && a, 60_000);
    assert.equal(a.status?.health?.status, "Healthy");
    assert.ok(await cm("after-cert"), "wave 1 applied");
  });

  it("a failed issuance makes the Application Degraded, naming the Certificate and the rule", async () => {
    await certStatus("web", [{ type: "Ready", status: "False", reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist" }, { type: "Issuing", status: "False", reason: "Failed", message: "The certificate request has failed to complete and will be retried" }]);
    const a = await h.waitApp("certs", "Degraded", (a) => a.status?.health?.status === "Degraded" && a, 60_000);
    assert.match(a.status!.health!.message!, /Certificate .*web: failed \(default rule \[0\] \(cert-manager\.io\/v1 Certificate\)\)/);
    assert.equal(condition(a, "Healthy")?.status, "False");
    assert.equal(condition(a, "Ready")?.status, "False");
  });
});

describe("an Application's own rule", () => {
  it("wins over the default for the same kind", async () => {
    // The Certificate still shows the failed issuance; this Application counts it current once notAfter is set.
    await h.createApp("own-rule", { healthCheckExprs: [{ apiVersion: "cert-manager.io/v1", kind: "Certificate", current: "has(status.notAfter)" }] });
    await h.publish("own-rule", [certificate("own")]);
    const waiting = await h.waitApp("own-rule", "Progressing by its own rule", (a) => a.status?.health?.status === "Progressing" && /spec\.healthCheckExprs\[0\]/.test(a.status.health.message ?? "") && a, 60_000);
    assert.match(waiting.status!.health!.message!, /not current yet \(spec\.healthCheckExprs\[0\] \(cert-manager\.io\/v1 Certificate\)\)/);
    await h.admin.applyStatus({ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: "own", namespace: h.ns.name }, status: { notAfter: "2027-03-01T10:00:00Z" } }, { fieldManager: "cert-manager-certificates-issuing", force: true });
    const a = await h.waitApp("own-rule", "Ready", (a) => condition(a, "Ready")?.status === "True" && a, 60_000);
    assert.equal(a.status?.health?.status, "Healthy");
  });

  it("that does not compile stops only its Application (Stalled, HealthRuleInvalid, naming the rule); fixing it recovers", async () => {
    await h.createApp("bad-rule", { healthCheckExprs: [{ apiVersion: "cert-manager.io/v1", kind: "Certificate", current: "status.conditions.exists(c, " }] });
    await h.publish("bad-rule", [configMap("bad-rule-cm", { a: "1" })]);
    const a = await h.waitApp("bad-rule", "Stalled", (a) => condition(a, "Stalled")?.status === "True" && a, 60_000);
    assert.equal(condition(a, "Stalled")?.reason, "HealthRuleInvalid");
    assert.match(condition(a, "Stalled")!.message, /^health rule cannot be used: spec\.healthCheckExprs\[0\]\.current: does not compile: .*; fix spec\.healthCheckExprs$/);
    assert.equal(condition(a, "Ready")?.status, "False");
    assert.equal(await cm("bad-rule-cm"), undefined, "nothing applied while the rule is broken");
    // The other Applications carry on.
    assert.equal(condition((await h.getApp("own-rule"))!, "Ready")?.status, "True");
    await h.admin.patch({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "bad-rule", namespace: h.ns.name } }, { spec: { healthCheckExprs: [{ apiVersion: "cert-manager.io/v1", kind: "Certificate", current: "true" }] } }, "merge");
    await h.waitApp("bad-rule", "Ready after the fix", (a) => condition(a, "Ready")?.status === "True", 60_000);
    assert.ok(await cm("bad-rule-cm"));
  });
});

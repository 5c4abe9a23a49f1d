// The data-less Secret view holds no copy of a Secret's data anywhere: not `data`/`stringData`, and not the
// annotations that copy the object (kubectl apply's last-applied-configuration holds the data in full).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as renderController from "../../../src/render/controller.js";
import type { KubeObject } from "../../../src/runtime/kinds.js";
import { SECRETS_WITHOUT_DATA, secretDataDigest, secretWithoutData } from "../../../src/runtime/secret-view.js";

const CANARY = "canary-s3cr3t-value-7f3a";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** A Secret as `kubectl apply` leaves it: the applied object, data included, in last-applied-configuration. */
function appliedSecret(value = CANARY): KubeObject {
  const applied = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "team-a" }, data: { password: b64(value) }, type: "Opaque" };
  return {
    ...applied,
    metadata: {
      ...applied.metadata,
      resourceVersion: "42",
      labels: { app: "db" },
      annotations: {
        [LAST_APPLIED]: JSON.stringify(applied) + "\n",
        "kapp.k14s.io/original": JSON.stringify({ ...applied, stringData: { password: value } }),
        "example.com/copied-by-some-tool": `password=${value}`,
        "example.com/owner": "team-a",
      },
      managedFields: [{ manager: "kubectl-client-side-apply", fieldsV1: { "f:data": { "f:password": {} } } }],
    },
  };
}

/** Every place the value could hide, as it would be held: plain, base64, and inside JSON text. */
function assertNoData(obj: unknown, value = CANARY): void {
  const text = JSON.stringify(obj);
  for (const form of [value, b64(value)]) assert.ok(!text.includes(form), `the view holds ${form === value ? "the value" : "its base64"} (a test failure message never quotes it either)`);
  assert.ok(!text.includes(LAST_APPLIED), "the view keeps the last-applied-configuration annotation");
}

function checkView(transform: (o: KubeObject) => KubeObject): void {
  const input = appliedSecret();
  const before = JSON.stringify(input);
  const view = transform(structuredClone(input)) as KubeObject & { data?: unknown; stringData?: unknown; dataDigest?: string };
  assertNoData(view);
  assert.equal(view.data, undefined);
  assert.equal(view.stringData, undefined);
  assert.match(view.dataDigest ?? "", /^[a-f0-9]{64}$/);
  assert.equal(view.metadata?.name, "db");
  assert.deepEqual(view.metadata?.labels, { app: "db" });
  assert.equal(view.metadata?.resourceVersion, "42");
  assert.equal(JSON.stringify(input), before, "the input is not modified");
}

describe("secretWithoutData (the data-less Secret cache view)", () => {
  it("holds neither the data nor any annotation that copies it, and keeps the other metadata", () => {
    checkView(secretWithoutData);
    const view = secretWithoutData(appliedSecret());
    assert.deepEqual(view.metadata?.annotations, { "example.com/owner": "team-a" });
    assert.equal(view.metadata?.managedFields, undefined);
  });

  it("strips stringData and the values' copies too, and annotations equal to a short value", () => {
    const s: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "x", annotations: { a: "pin", b: "the pin code", c: `v=${CANARY}` } }, stringData: { pin: "pin", long: CANARY } };
    const view = secretWithoutData(s);
    assertNoData(view);
    assert.deepEqual(view.metadata?.annotations, { b: "the pin code" }, "a short value only counts when it is the whole annotation");
    assert.equal(view.stringData, undefined);
  });

  it("has a digest that changes with the data (and only with it), equal to the digest of the live object's data", () => {
    const a = secretWithoutData(appliedSecret()) as KubeObject & { dataDigest: string };
    const same = secretWithoutData(appliedSecret()) as KubeObject & { dataDigest: string };
    const changed = secretWithoutData(appliedSecret(CANARY + "-rotated")) as KubeObject & { dataDigest: string };
    assert.equal(a.dataDigest, same.dataDigest);
    assert.notEqual(a.dataDigest, changed.dataDigest);
    assert.equal(a.dataDigest, secretDataDigest({ password: b64(CANARY) }));
    assert.equal(secretDataDigest({ b: "1", a: "2" }), secretDataDigest({ a: "2", b: "1" }), "key order does not matter");
    assert.equal(a.dataDigest, renderController.secretDataDigest({ password: b64(CANARY) }), "the render controller compares live data with the same digest");
  });

  it("is a named view of its own", () => {
    assert.equal(SECRETS_WITHOUT_DATA.view?.name, "secrets-without-data");
    assert.equal(SECRETS_WITHOUT_DATA.view?.transform, secretWithoutData);
  });

  it("is the view the render controller watches Secrets through", () => {
    checkView(renderController.SECRETS_WITHOUT_DATA.view!.transform);
  });
});

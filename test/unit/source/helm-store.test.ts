import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256Digest } from "../../../src/artifact/download.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { packageChart, type TreeFile } from "../../../src/source/helm-git.js";
import { ChartStore, chartKey } from "../../../src/source/helm-store.js";

const ADDR = "127.0.0.1:9090";
const chart = { metadata: { namespace: "ns", name: "shop" } };
const file = (text: string): TreeFile => ({ type: "file", data: Buffer.from(text), executable: false });

describe("ChartStore", () => {
  let root: string;
  let store: ChartStore;
  let tgz: Buffer;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mooring-chartstore-"));
    const storage = new ArtifactStorage({ root });
    await storage.init();
    store = new ChartStore(storage, ADDR);
    tgz = await packageChart("shop", new Map([["Chart.yaml", file("apiVersion: v2\nname: shop\nversion: 1.0.0\n")], ["charts/redis-1.0.0.tgz", file("redis bytes")]]), [], "test chart");
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("the key is the HelmChart's", () => {
    assert.deepEqual(chartKey(chart), { kind: "HelmChart", namespace: "ns", name: "shop" });
  });

  it("stores a chart under the advertised address with its version, digest and name; it exists; its files read back", async () => {
    const got = await store.write(chart, "1.0.0+abc", { bytes: tgz, digest: sha256Digest(tgz), chartName: "shop" }, Date.parse("2026-03-02T23:00:00Z"));
    assert.equal(got.chartName, "shop");
    assert.equal(got.artifact.revision, "1.0.0+abc");
    assert.equal(got.artifact.digest, sha256Digest(tgz));
    assert.equal(got.artifact.size, tgz.length);
    assert.equal(got.artifact.lastUpdateTime, "2026-03-02T23:00:00Z");
    assert.ok(got.artifact.url.startsWith(`http://${ADDR}/helmchart/ns/shop/`), got.artifact.url);
    assert.equal(await store.exists(got.artifact), true);
    const files = await store.files(got.artifact, "shop/charts");
    const dep = files?.get("redis-1.0.0.tgz");
    assert.equal(dep?.type === "file" && dep.data.toString(), "redis bytes");
  });

  it("an artifact of another server's, with another digest, or none is not stored; its files are undefined", async () => {
    const got = await store.write(chart, "1.0.0", { bytes: tgz, digest: sha256Digest(tgz), chartName: "shop" });
    assert.equal(await store.exists({ ...got.artifact, url: got.artifact.url.replace(ADDR, "elsewhere:1") }), false);
    assert.equal(await store.exists({ ...got.artifact, digest: `sha256:${"0".repeat(64)}` }), false);
    assert.equal(await store.exists(undefined), false);
    assert.equal(await store.files({ ...got.artifact, url: "http://elsewhere:1/x.tgz" }, "shop/charts"), undefined);
  });

  it("refuses bytes whose digest is not the one downloaded", async () => {
    await assert.rejects(store.write(chart, "1.0.0", { bytes: tgz, digest: `sha256:${"0".repeat(64)}`, chartName: "shop" }), /stored chart digest sha256:[0-9a-f]{64} differs from the downloaded sha256:0{64}/);
  });

  it("removes every chart of a HelmChart that is gone", async () => {
    const got = await store.write(chart, "1.0.0", { bytes: tgz, digest: sha256Digest(tgz), chartName: "shop" });
    await store.remove({ namespace: "ns", name: "shop" });
    assert.equal(await store.exists(got.artifact), false);
  });
});

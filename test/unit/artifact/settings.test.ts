// The artifact storage and address as the operator's flags set them (src/artifact/settings.ts).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { advertisedArtifactAddr, openArtifactStorage } from "../../../src/artifact/settings.js";

describe("artifact settings", () => {
  it("advertises the flag's address, else localhost on the listen port", () => {
    assert.equal(advertisedArtifactAddr({ advertisedArtifactAddr: "source.mooring-system.svc:9090", artifactAddr: ":9090" }), "source.mooring-system.svc:9090");
    assert.equal(advertisedArtifactAddr({ advertisedArtifactAddr: undefined, artifactAddr: ":9090" }), "localhost:9090");
    assert.equal(advertisedArtifactAddr({ advertisedArtifactAddr: undefined, artifactAddr: "0.0.0.0:8181" }), "localhost:8181");
  });

  it("opens (and creates) the storage at the flag's path", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-settings-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, "store");
    const storage = await openArtifactStorage({ storagePath: root, keepArtifacts: 3, maxStorageBytes: undefined });
    assert.equal(storage.root, root);
    assert.ok(existsSync(root));
  });
});

// The defaults docs/source.md states, checked against the code so the two cannot drift apart.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { FIXED_MTIME } from "../../../src/artifact/tarball.js";
import { conditionReason, pathOfArtifactUrl } from "../../../src/source/controller.js";
import { SourceError } from "../../../src/source/errors.js";
import { DEFAULT_MAX_SOURCE_BYTES } from "../../../src/source/sync.js";
import { DEFAULT_IGNORE, REPO_IGNORE_FILE } from "../../../src/source/tree.js";
import { DEFAULT_MAX_WEBHOOK_BODY } from "../../../src/source/webhook.js";

void describe("documented defaults", () => {
  void it("keeps 2 artifacts per object, limits sources to 512 MiB and webhook bodies to 1 MiB", () => {
    assert.equal(new ArtifactStorage({ root: "/tmp/x" }).keep, 2);
    assert.equal(DEFAULT_MAX_SOURCE_BYTES, 512 * 1024 * 1024);
    assert.equal(DEFAULT_MAX_WEBHOOK_BODY, 1024 * 1024);
    assert.equal(FIXED_MTIME.toISOString(), "1980-01-01T00:00:00.000Z");
    assert.equal(REPO_IGNORE_FILE, ".mooringignore");
  });
  void it("ignores the VCS and CI paths listed in docs/source.md", () => {
    const rules = DEFAULT_IGNORE.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(rules, [
      ".git/", ".gitignore", ".gitmodules", ".gitattributes", ".hg/", ".svn/", ".bzr/",
      ".github/", ".gitlab/", ".gitlab-ci.yml", ".circleci/", ".travis.yml", ".drone.yml", "appveyor.yml", "Jenkinsfile", ".buildkite/", "azure-pipelines.yml", "cloudbuild.yaml",
    ]);
  });
});

void describe("controller helpers", () => {
  void it("maps SourceError reasons to the API's condition reasons where they exist", () => {
    const r = (reason: ConstructorParameters<typeof SourceError>[0]) => conditionReason(new SourceError(reason, "x"));
    assert.equal(r("AuthenticationFailed"), "AuthenticationFailed");
    assert.equal(r("StorageFailed"), "StorageOperationFailed");
    assert.equal(r("FetchFailed"), "GitOperationFailed");
    assert.equal(r("Timeout"), "Timeout");
    assert.equal(r("InvalidTree"), "InvalidTree");
  });
  void it("reads the storage path back from an artifact URL", () => {
    assert.equal(pathOfArtifactUrl("http://source.mooring-system.svc:9090/gitrepository/ns/app/ab%20c.tar.gz"), "gitrepository/ns/app/ab c.tar.gz");
    assert.equal(pathOfArtifactUrl("not a url"), undefined);
    assert.equal(pathOfArtifactUrl(undefined), undefined);
  });
});

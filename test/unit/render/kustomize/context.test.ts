// Kustomize's load restriction on the files a kustomization names (src/render/kustomize/context.ts): a file must be
// in or below the kustomization's directory; the artifact path and text of one that is, and errors that say why and
// how to fix it for one that is not.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { readFileUnder, resolveUnder, underKustomization, type Kust } from "../../../../src/render/kustomize/context.js";
import { writeTree } from "../tree.js";

const tree = writeTree({
  "apps/web/kustomization.yaml": "resources: [deploy.yaml]\n",
  "apps/web/deploy.yaml": "kind: Deployment\n",
  "apps/web/patches/replicas.yaml": "spec: {replicas: 2}\n",
  "apps/shared.yaml": "kind: ConfigMap\n",
});
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const web: Kust = { dir: "apps/web", file: "apps/web/kustomization.yaml", k: {} };

void describe("kustomize load restriction", () => {
  void it("accepts paths in or below the kustomization's directory, and anything for one at the root", () => {
    assert.equal(underKustomization("apps/web/deploy.yaml", "deploy.yaml", "apps/web", "k", "resource"), "apps/web/deploy.yaml");
    assert.equal(underKustomization("apps/web", ".", "apps/web", "k", "resource"), "apps/web");
    assert.equal(underKustomization("elsewhere/x.yaml", "elsewhere/x.yaml", "", "k", "resource"), "elsewhere/x.yaml");
  });

  void it("refuses a path outside it, including a sibling whose name starts the same", () => {
    for (const p of ["apps/shared.yaml", "apps/web2/x.yaml"]) {
      assert.throws(() => underKustomization(p, "../x", "apps/web", "apps/web/kustomization.yaml", "patch"), (e: Error & { file?: string }) => {
        assert.equal(e.file, "apps/web/kustomization.yaml");
        assert.match(e.message, /patch "\.\.\/x" is not in or below apps\/web \(Kustomize's load restriction\); move it there, or put it in a directory with its own kustomization/);
        return true;
      });
    }
  });

  void it("resolves and reads a file the kustomization names, relative to its directory", () => {
    assert.equal(resolveUnder(root, web, "patches/replicas.yaml", "patch"), "apps/web/patches/replicas.yaml");
    assert.deepEqual(readFileUnder(root, web, "./deploy.yaml", "resource"), { text: "kind: Deployment\n", where: "apps/web/deploy.yaml" });
  });

  void it("applies the restriction after `..` is resolved, and says when a file does not exist", () => {
    assert.throws(() => readFileUnder(root, web, "../shared.yaml", "resource"), /resource "\.\.\/shared\.yaml" is not in or below apps\/web/);
    assert.throws(() => resolveUnder(root, web, "missing.yaml", "patch"), /patch "missing\.yaml" does not exist/);
  });
});

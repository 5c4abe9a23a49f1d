// Kustomize's load restriction on the files a kustomization names (src/render/kustomize/context.ts): a file must be
// in or below the kustomization's directory; the artifact path and text of one that is, and errors that say why and
// how to fix it for one that is not.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { readFileUnder, resolveUnder, underKustomization, type Kust } from "../../../../src/render/kustomize/context.js";
import { renderKustomize } from "../../../../src/render/kustomize/index.js";
import { writeTree } from "../tree.js";
import { expectSameAsKubectl, kubectlKustomize } from "./oracle.js";

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

  void it("checks where symlinks lead, as kubectl kustomize does: a link out of the directory is refused, a link within it or to it is not", async () => {
    const CM = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
    const common = {
      "repo/apps/shared.yaml": CM("shared"),
      "repo/apps/other/o.yaml": CM("other"),
      "repo/apps/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {patched: \"yes\"}\n",
      "repo/apps/data.txt": "x",
      "repo/apps/web/cm.yaml": CM("cm"),
      "outside.yaml": CM("outside"),
    };
    const refused: [string, Record<string, string | { symlink: string }>, RegExp][] = [
      ["resources: [link.yaml]", { "repo/apps/web/link.yaml": { symlink: "../shared.yaml" } }, /resource "link\.yaml" resolves through a symlink to apps\/shared\.yaml, which is not in or below apps\/web/],
      ["resources: [sub/o.yaml]", { "repo/apps/web/sub": { symlink: "../other" } }, /resource "sub\/o\.yaml" resolves through a symlink to apps\/other\/o\.yaml/],
      ["resources: [cm.yaml]\npatches: [{path: p.yaml}]", { "repo/apps/web/p.yaml": { symlink: "../patch.yaml" } }, /"p\.yaml" resolves through a symlink to apps\/patch\.yaml/],
      ["configMapGenerator: [{name: g, files: [d.txt]}]", { "repo/apps/web/d.txt": { symlink: "../data.txt" } }, /"d\.txt" resolves through a symlink to apps\/data\.txt/],
      ["resources: [out.yaml]", { "repo/apps/web/out.yaml": { symlink: "../../../outside.yaml" } }, /resource "out\.yaml" resolves outside the source root/],
    ];
    for (const [k, links, message] of refused) {
      const t = writeTree({ ...common, ...links, "repo/apps/web/kustomization.yaml": `${k}\n` });
      try {
        const want = await kubectlKustomize(`${t.dir}/repo/apps/web`);
        assert.ok(!want.ok && /security; file .* is not in or below/.test(want.error), `kubectl kustomize should refuse ${k}: ${want.ok ? "it built it" : want.error}`);
        assert.throws(() => renderKustomize(new ArtifactRoot(`${t.dir}/repo`, resolveLimits()), "apps/web"), (e: Error & { file?: string }) => {
          assert.match(e.message, message);
          assert.equal(e.file, "apps/web/kustomization.yaml");
          return true;
        });
      } finally {
        t.cleanup();
      }
    }
    // A link that stays in the directory, and a kustomization reached through a link to its directory (its files are
    // checked against where that link leads: ../web/cm.yaml from apps/webl is in apps/web): built, the same as kubectl.
    const t = writeTree({
      ...common,
      "repo/apps/web/inner.yaml": { symlink: "cm.yaml" },
      "repo/apps/web/kustomization.yaml": "resources: [inner.yaml]\n",
      "repo/apps/webl": { symlink: "web" },
      "repo/apps/lexical/kustomization.yaml": "resources: [../webl]\n",
      "repo/apps/via/kustomization.yaml": "resources: [../web2]\n",
      "repo/apps/web2": { symlink: "web3" },
      "repo/apps/web3/kustomization.yaml": "resources: [../web3/x.yaml]\n",
      "repo/apps/web3/x.yaml": CM("x"),
    });
    try {
      for (const target of ["apps/web", "apps/webl", "apps/lexical"]) assert.deepEqual((await expectSameAsKubectl(`${t.dir}/repo`, target)).map((o) => o.metadata.name), ["cm"]);
      assert.deepEqual((await expectSameAsKubectl(`${t.dir}/repo`, "apps/via")).map((o) => o.metadata.name), ["x"]);
    } finally {
      t.cleanup();
    }
  });
});

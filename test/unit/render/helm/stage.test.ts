// Staging a chart for helm (src/render/helm/stage.ts): every regular file of the chart copied through the artifact
// root into a private directory, hidden entries skipped except .helmignore, symlinks inside followed as copies, a
// directory loop and a link out of the artifact refused; each file read once.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { ChartFiles, joinRel, MAX_CHART_DEPTH, stageChart } from "../../../../src/render/helm/stage.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { writeTree, type Tree } from "../tree.js";

const trees: Tree[] = [];
after(() => trees.forEach((t) => t.cleanup()));
function rootOf(files: Parameters<typeof writeTree>[0]): { root: ArtifactRoot; dir: string } {
  const t = writeTree(files);
  trees.push(t);
  return { root: new ArtifactRoot(t.dir, resolveLimits()), dir: t.dir };
}

void describe("helm chart staging", () => {
  void it("joins root-relative paths", () => {
    assert.deepEqual([joinRel("", "a"), joinRel("charts/x", "a")], ["a", "charts/x/a"]);
  });

  void it("copies the chart's regular files with their layout, .helmignore but no other hidden entry", () => {
    const { root, dir } = rootOf({
      "charts/web/Chart.yaml": "name: web\n",
      "charts/web/.helmignore": "*.bak\n",
      "charts/web/.git/config": "secret\n",
      "charts/web/.hidden.yaml": "x\n",
      "charts/web/templates/deploy.yaml": "kind: Deployment\n",
      "charts/web/charts/db/Chart.yaml": "name: db\n",
      "charts/web/charts/db/.helmignore": "\n",
      "charts/web/values.yaml": { symlink: "../../shared/values.yaml" },
      "shared/values.yaml": "replicas: 2\n",
      "other/Chart.yaml": "name: other\n",
    });
    const dest = path.join(dir, "..", `${path.basename(dir)}-staged`);
    trees.push({ dir: dest, cleanup: () => fs.rmSync(dest, { recursive: true, force: true }) });
    const copied = stageChart(new ChartFiles(root), "charts/web", dest);
    assert.deepEqual([...copied].sort(), [
      "charts/web/.helmignore",
      "charts/web/Chart.yaml",
      "charts/web/charts/db/.helmignore",
      "charts/web/charts/db/Chart.yaml",
      "charts/web/templates/deploy.yaml",
      "charts/web/values.yaml",
    ]);
    assert.equal(fs.readFileSync(path.join(dest, "values.yaml"), "utf8"), "replicas: 2\n", "a link inside the artifact is copied as a file");
    assert.equal(fs.lstatSync(path.join(dest, "values.yaml")).isSymbolicLink(), false);
    assert.equal(fs.readFileSync(path.join(dest, "charts/db/Chart.yaml"), "utf8"), "name: db\n");
    assert.equal(fs.statSync(dest).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dest, "Chart.yaml")).mode & 0o777, 0o600);
    assert.throws(() => stageChart(new ChartFiles(root), "charts/web", dest), { code: "EEXIST" }, "the destination must not exist");
  });

  void it("refuses a directory loop and a link that leaves the artifact", () => {
    const loop = rootOf({ "c/Chart.yaml": "name: c\n", "c/sub/up": { symlink: ".." } });
    assert.throws(() => new ChartFiles(loop.root).walk("c"), { message: new RegExp(`nests directories more than ${MAX_CHART_DEPTH} deep \\(a symlink loop\\?\\)`) });
    const out = rootOf({ "c/Chart.yaml": "name: c\n", "c/values.yaml": { symlink: "/etc/passwd" } });
    assert.throws(() => stageChart(new ChartFiles(out.root), "c", path.join(out.dir, "staged")), { message: /outside/ });
  });

  void it("reads each file through the root once", () => {
    const { root, dir } = rootOf({ "c/Chart.yaml": "name: c\n" });
    const files = new ChartFiles(root);
    const first = files.bytes("c/Chart.yaml");
    fs.writeFileSync(path.join(dir, "c/Chart.yaml"), "changed\n");
    assert.equal(files.bytes("c/Chart.yaml"), first);
    assert.equal(new ChartFiles(root).bytes("c/Chart.yaml").toString(), "changed\n");
  });
});

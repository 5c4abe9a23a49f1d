// Where the Go-template renderer finds helm and mooring-helm (src/render/helm/binary.ts), with stand-in executables
// in temporary directories: an explicit binary, $MOORING_HELM_BINARY, the tool cache, PATH; the driver beside helm;
// what is said when nothing is found; and `helm version` as the render cache key's part.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { findHelm, helmVersion, PINNED_HELM_VERSION, toolCacheBin } from "../../../../src/render/helm/binary.js";

const top = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-helmbin-"));
const saved = { ...process.env };
after(() => {
  process.env = saved;
  fs.rmSync(top, { recursive: true, force: true });
});

function exe(dir: string, name: string, script = "#!/bin/sh\nexit 0\n", mode = 0o755): string {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.writeFileSync(p, script, { mode });
  return p;
}
const fresh = (name: string) => {
  const d = path.join(top, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

void describe("helm binaries", () => {
  void it("put the tool cache under MOORING_CACHE, else XDG_CACHE_HOME, else ~/.cache", () => {
    process.env.MOORING_CACHE = "/m";
    assert.equal(toolCacheBin(), "/m/bin");
    delete process.env.MOORING_CACHE;
    process.env.XDG_CACHE_HOME = "/x";
    assert.equal(toolCacheBin(), "/x/mooring/bin");
    delete process.env.XDG_CACHE_HOME;
    assert.equal(toolCacheBin(), path.join(os.homedir(), ".cache/mooring/bin"));
  });

  void it("use an explicit helm and the mooring-helm beside it", () => {
    process.env.MOORING_CACHE = fresh("empty-cache");
    process.env.PATH = fresh("empty-path");
    const dir = fresh("explicit");
    const helm = exe(dir, "helm");
    const driver = exe(dir, "mooring-helm");
    assert.deepEqual(findHelm(helm), { helm, driver });
    const alone = exe(fresh("alone"), "helm");
    assert.deepEqual(findHelm(alone), { helm: alone, driver: undefined });
  });

  void it("fall back to $MOORING_HELM_BINARY, then the tool cache, then PATH", () => {
    const cache = fresh("cache");
    const onPath = fresh("onpath");
    process.env.MOORING_CACHE = cache;
    process.env.PATH = onPath;
    const pathHelm = exe(onPath, "helm");
    const pathDriver = exe(onPath, "mooring-helm");
    assert.deepEqual(findHelm(), { helm: pathHelm, driver: pathDriver });
    const cachedHelm = exe(path.join(cache, "bin"), "helm");
    process.env.PATH = `${onPath}${path.delimiter}`; // a new PATH: not the remembered answer
    assert.deepEqual(findHelm(), { helm: cachedHelm, driver: pathDriver }, "the tool cache wins over PATH");
    const envHelm = exe(fresh("env"), "helm");
    process.env.MOORING_HELM_BINARY = envHelm;
    assert.equal(findHelm().helm, envHelm);
    delete process.env.MOORING_HELM_BINARY;
  });

  void it("say how to get helm when there is none, or the given one is not executable", () => {
    process.env.MOORING_CACHE = fresh("none-cache");
    process.env.PATH = fresh("none-path");
    assert.throws(() => findHelm(), { message: new RegExp(`^helm is not installed: Go-template charts are rendered by Helm ${PINNED_HELM_VERSION}; run 'make tools'`) });
    const notExe = exe(fresh("noexec"), "helm", "#!/bin/sh\n", 0o644);
    assert.throws(() => findHelm(notExe), { message: new RegExp(`^the helm binary ${notExe} \\(--helm-binary\\) does not exist or is not executable`) });
    process.env.MOORING_HELM_BINARY = path.join(top, "missing");
    assert.throws(() => findHelm(), { message: /\(MOORING_HELM_BINARY\) does not exist/ });
    assert.equal(helmVersion(), "none");
    delete process.env.MOORING_HELM_BINARY;
  });

  void it("give helm's version for the cache key, or say it is unknown", () => {
    const good = exe(fresh("v-good"), "helm", '#!/bin/sh\n[ "$1" = version ] && printf "v3.22.0+abc123"\n');
    assert.equal(helmVersion(good), "helm v3.22.0+abc123");
    const noCommit = exe(fresh("v-nocommit"), "helm", '#!/bin/sh\nprintf "v3.1.0+"\n');
    assert.equal(helmVersion(noCommit), "helm v3.1.0");
    const broken = exe(fresh("v-broken"), "helm", "#!/bin/sh\nexit 3\n");
    assert.equal(helmVersion(broken), `${broken} (version unknown)`);
  });
});

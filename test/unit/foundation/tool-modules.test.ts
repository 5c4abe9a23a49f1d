// The committed wrapper modules that `make tools` builds from (hack/tools/<name>/go.mod + go.sum) must pin exactly
// the versions hack/versions.env names, build with -mod=readonly, and carry a checksum for every module they need:
// then a fresh machine resolves the graph we tested, never a newer release that appeared on the Go module proxy.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../support/cluster.js";

const HACK = path.join(REPO_ROOT, "hack");
const versions = Object.fromEntries(
  readFileSync(path.join(HACK, "versions.env"), "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split("=") as [string, string]),
);

/** The `require` lines of a go.mod: module → version. */
function requires(gomod: string): Map<string, string> {
  const out = new Map<string, string>();
  const block = /^require \(\n([\s\S]*?)^\)/gm;
  for (const m of gomod.matchAll(block)) for (const line of m[1]!.split("\n")) {
    const [mod, ver] = line.trim().split(/\s+/);
    if (mod && ver) out.set(mod, ver);
  }
  for (const m of gomod.matchAll(/^require ([^\s(]+) (\S+)/gm)) out.set(m[1]!, m[2]!);
  return out;
}

function tools(gomod: string): string[] {
  const single = [...gomod.matchAll(/^tool ([^\s(]+)$/gm)].map((m) => m[1]!);
  const block = /^tool \(\n([\s\S]*?)^\)/m.exec(gomod)?.[1]?.split("\n").map((l) => l.trim()).filter(Boolean) ?? [];
  return [...single, ...block];
}

const MODULES: { dir: string; module: string; version: string; tools: string[] }[] = [
  { dir: "kubernetes", module: "k8s.io/kubernetes", version: versions.KUBERNETES_VERSION!, tools: ["k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-proxy", "k8s.io/kubernetes/cmd/kube-scheduler"] },
  { dir: "etcd", module: "go.etcd.io/etcd/server/v3", version: versions.ETCD_VERSION!, tools: ["go.etcd.io/etcd/server/v3"] },
  { dir: "kwok", module: "sigs.k8s.io/kwok", version: versions.KWOK_VERSION!, tools: ["sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"] },
  { dir: "helm", module: "helm.sh/helm/v3", version: versions.HELM_VERSION!, tools: ["helm.sh/helm/v3/cmd/helm"] },
  { dir: "toxiproxy", module: "github.com/Shopify/toxiproxy/v2", version: versions.TOXIPROXY_VERSION!, tools: ["github.com/Shopify/toxiproxy/v2/cmd/server"] },
  { dir: "registry", module: "github.com/distribution/distribution/v3", version: versions.REGISTRY_VERSION!, tools: ["github.com/distribution/distribution/v3/cmd/registry"] },
];

void describe("hack/tools: committed wrapper modules", () => {
  for (const m of MODULES) {
    void it(`${m.dir}: requires ${m.module} at hack/versions.env's version, lists its tools, and has a go.sum entry for it`, () => {
      const dir = path.join(HACK, "tools", m.dir);
      assert.ok(existsSync(path.join(dir, "go.mod")) && existsSync(path.join(dir, "go.sum")), `hack/tools/${m.dir}/go.mod and go.sum are committed`);
      const gomod = readFileSync(path.join(dir, "go.mod"), "utf8");
      const gosum = readFileSync(path.join(dir, "go.sum"), "utf8");
      assert.equal(requires(gomod).get(m.module), m.version, `hack/tools/${m.dir}/go.mod pins ${m.module} ${m.version}; run 'hack/tools.sh --update' after changing versions.env`);
      assert.deepEqual(tools(gomod).sort(), [...m.tools].sort());
      assert.ok(gosum.includes(`${m.module} ${m.version} h1:`), `go.sum has the checksum of ${m.module} ${m.version}`);
      const replaced = new Map([...gomod.matchAll(/^\t(\S+) => (\S+) (\S+)$/gm)].map((r) => [r[1]!, r[3]!]));
      for (const [mod, ver] of requires(gomod)) {
        const effective = replaced.get(mod) ?? ver;
        assert.ok(gosum.includes(`${mod} ${effective}/go.mod h1:`), `go.sum has ${mod} ${effective}`);
      }
    });
  }

  void it("kubernetes: every staging module is replaced by its published v0.Y.Z, matching the Kubernetes version", () => {
    const gomod = readFileSync(path.join(HACK, "tools/kubernetes/go.mod"), "utf8");
    const staging = `v0.${versions.KUBERNETES_VERSION!.slice("v1.".length)}`;
    const replaces = [...gomod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
    assert.ok(replaces.length >= 30, `${replaces.length} staging replaces`);
    for (const r of replaces) {
      assert.equal(r[1], r[2]);
      assert.equal(r[3], staging, `${r[1]} is replaced at ${staging}`);
    }
  });

  void it("hack/tools.sh builds read-only from the committed modules, never resolving versions itself", () => {
    const script = readFileSync(path.join(HACK, "tools.sh"), "utf8");
    const build = script.slice(script.indexOf("proxy=$(go env GOPROXY"));
    assert.match(script, /GOFLAGS="-buildvcs=false -mod=readonly"/);
    assert.doesNotMatch(build, /go (get|install|mod tidy)/, "after the --update branch, the script only builds");
  });
});

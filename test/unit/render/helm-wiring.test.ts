// The Go-template renderer's settings reach it from every entry point: the operator's --helm-binary flag, the CLI's
// --kube-version / --api-versions / --is-upgrade, the render's deadline (helm is killed when it passes), and Go's
// out-of-memory deaths become one line naming the memory limit (never the goroutine dump helm prints).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseOperatorArgs } from "../../../src/config.js";
import { runRender } from "../../../src/cli/render.js";
import { render, RenderError } from "../../../src/render/index.js";
import { helmVersion } from "../../../src/render/helm/binary.js";
import { goOutOfMemory, oneLine } from "../../../src/render/helm/go.js";
import { writeTree } from "./tree.js";

const CHART = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const CAPS_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  foo: {{ .Capabilities.APIVersions.Has "example.com/v1/Foo" | quote }}
  bar: {{ .Capabilities.APIVersions.Has "bar.example.com/v2" | quote }}
  upgrade: {{ .Release.IsUpgrade | quote }}
`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-helm-wiring-"));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A stand-in helm: a shell script (so the test decides exactly what "helm" prints and how it dies). */
function fakeHelm(name: string, body: string): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, "helm");
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

/** A Go runtime's death by memory as helm prints it: the fatal error, then every goroutine's stack. */
const GO_OOM_DUMP = `fatal error: runtime: cannot allocate memory

goroutine 1 gp=0xc000002380 m=0 mp=0x4ff2a0 [running]:
runtime.throw({0x2a0d1b1?, 0x0?})
\t/usr/local/go/src/runtime/panic.go:1101 +0x48 fp=0xc00011f8e0 sp=0xc00011f8b0 pc=0x47c828
runtime.(*mheap).sysAlloc(0x4f9e60, 0x4000000, 0x4f9e70, 0x1)
\t/usr/local/go/src/runtime/malloc.go:684 +0x1a5 fp=0xc00011f980 sp=0xc00011f8e0 pc=0x41cb65
text/template.(*state).walk(0xc000a21e00, {0x23d8f40?, 0xc0005c71a0?, 0x80?}, {0x2d49c18, 0xc000b91ef0})
\t/usr/local/go/src/text/template/exec.go:268 +0x1a5

goroutine 2 gp=0xc000002e00 m=nil [force gc (idle)]:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
`;

function renderFailure(helm: Record<string, unknown>): RenderError {
  const t = writeTree({ "app/Chart.yaml": CHART, "app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" });
  try {
    render(t.dir, "app", { type: "helm", helm: { releaseName: "r", namespace: "ns", engine: "go", ...helm } });
  } catch (err) {
    assert.ok(err instanceof RenderError, `a RenderError, not ${String(err)}`);
    return err;
  } finally {
    t.cleanup();
  }
  assert.fail("the render succeeded");
}

void describe("helm settings reach the renderer", () => {
  void it("--helm-binary (and MOORING_HELM_BINARY) is parsed into the operator's configuration", () => {
    assert.equal(parseOperatorArgs(["--helm-binary", "/opt/helm/bin/helm"]).helmBinary, "/opt/helm/bin/helm");
    assert.equal(parseOperatorArgs([]).helmBinary, undefined);
    const before = process.env.MOORING_HELM_BINARY;
    process.env.MOORING_HELM_BINARY = "/from/env/helm";
    try {
      assert.equal(parseOperatorArgs([]).helmBinary, "/from/env/helm");
    } finally {
      if (before === undefined) delete process.env.MOORING_HELM_BINARY;
      else process.env.MOORING_HELM_BINARY = before;
    }
  });

  void it("the configured helm binary is the one that runs: a missing one is named, not silently replaced", () => {
    const err = renderFailure({ helmBinary: path.join(scratch, "nowhere", "helm") });
    assert.match(err.message, /nowhere\/helm \(--helm-binary\) does not exist or is not executable/);
  });

  void it("helmVersion names the pinned helm (it goes into a chart render's cache key)", () => {
    assert.equal(helmVersion(), "helm v3.22.0");
    assert.equal(helmVersion(path.join(scratch, "nowhere", "helm")), "none");
  });

  void it("mooring render --kube-version, --api-versions and --is-upgrade reach .Capabilities and .Release", () => {
    const t = writeTree({ "c/Chart.yaml": CHART, "c/templates/cm.yaml": CAPS_TEMPLATE });
    try {
      const base = { type: "auto" as const, values: [], set: [], output: "json" as const, root: t.dir, apiVersions: [] as string[] };
      const data = (o: object) => (JSON.parse(runRender(path.join(t.dir, "c"), { ...base, ...o })) as { data: Record<string, string> }[])[0]!.data;
      assert.deepEqual(data({}), { kube: "v1.36.3", foo: "false", bar: "false", upgrade: "false" });
      assert.deepEqual(data({ kubeVersion: "v1.29.4", apiVersions: ["example.com/v1/Foo,bar.example.com/v2"], isUpgrade: true }), {
        kube: "v1.29.4",
        foo: "true",
        bar: "true",
        upgrade: "true",
      });
    } finally {
      t.cleanup();
    }
  });
});

void describe("helm's deadline and memory deaths", () => {
  void it("the render's deadline (deadlineAt) stops helm even when its own timeout is longer", () => {
    const helm = fakeHelm("slow", "exec sleep 30");
    const started = Date.now();
    const err = renderFailure({ helmBinary: helm, timeoutMs: 60_000, deadlineAt: Date.now() + 1500 });
    const took = Date.now() - started;
    assert.match(err.message, /took longer than 60000 ms and was killed/);
    assert.ok(took < 10_000, `helm ran ${took} ms past a 1.5 s deadline`);
  });

  void it("Go's 'cannot allocate memory' death (with its goroutine dump) is one line naming the memory limit, through mooring-helm", () => {
    const helm = fakeHelm("oom", `cat >&2 <<'EOF'\n${GO_OOM_DUMP}EOF\nexit 2`);
    const err = renderFailure({ helmBinary: helm, maxMemoryMb: 96 });
    assert.equal(err.message, "app: helm template of app needed more than 96 MiB of memory and was stopped");
    assert.doesNotMatch(err.message, /goroutine|runtime\./);
  });

  void it("the same death without mooring-helm (helm run directly) is the same one line", () => {
    const helm = fakeHelm("oom-direct", `cat >&2 <<'EOF'\n${GO_OOM_DUMP}EOF\nexit 2`);
    const err = renderFailure({ helmBinary: helm, maxMemoryMb: 64, driver: false });
    assert.equal(err.message, "app: helm template of app needed more than 64 MiB of memory and was stopped");
  });

  void it("a helm that dies of SIGSEGV before printing anything (too little memory to start) names the limit", () => {
    const helm = fakeHelm("segv", "kill -SEGV $$");
    const direct = renderFailure({ helmBinary: helm, maxMemoryMb: 16, driver: false });
    assert.match(direct.message, /needed more than 16 MiB of memory and was stopped \(helm died at start without a message/);
    const driven = renderFailure({ helmBinary: helm, maxMemoryMb: 16 });
    assert.match(driven.message, /needed more than 16 MiB of memory and was stopped/);
  });

  void it("a Go panic in helm is one line, not its stack", () => {
    const helm = fakeHelm("panic", `cat >&2 <<'EOF'\npanic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/main.go:9 +0x1d\nEOF\nexit 2`);
    const err = renderFailure({ helmBinary: helm });
    assert.equal(err.message, "app: helm template of app crashed: panic: runtime error: index out of range [3] with length 3");
  });

  void it("goOutOfMemory knows Go's messages and oneLine never returns a stack line", () => {
    for (const m of ["fatal error: out of memory", "fatal error: runtime: cannot allocate memory", "runtime: out of memory: cannot allocate 8192-byte block (3 in use)", "runtime: failed to create new OS thread (have 2 already; errno=12)"]) {
      assert.ok(goOutOfMemory(m), m);
    }
    assert.ok(!goOutOfMemory("Error: template: demo/templates/cm.yaml:3: function \"x\" not defined"));
    assert.equal(oneLine("\ngoroutine 1 [running]:\nmain.f()\n"), "main.f()");
    assert.equal(oneLine(""), "no message");
  });
});

// What every CLI command shares (src/cli/kube.ts): kind names, duration flags, and errors as one line and an exit code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApplicationKind, GitRepositoryKind, SyncPolicyKind } from "../../../src/api/kinds.js";
import { CliError, Exit, describeError, durationFlag, kindByName, runCommand, type Io } from "../../../src/cli/kube.js";
import { ApiError } from "../../../src/runtime/rest.js";

const capture = () => {
  const err: string[] = [];
  const io: Io = { out: () => {}, err: (t) => err.push(t), color: false };
  return { io, err };
};
const api = (code: number, message?: string) => new ApiError(code, { ...(message ? { message } : {}) }, "GET", "/api/v1/x");

describe("cli basics", () => {
  it("knows the kinds by the names kubectl users type, in any case", () => {
    assert.equal(kindByName("GitRepo"), GitRepositoryKind);
    assert.equal(kindByName("apps"), ApplicationKind);
    assert.equal(kindByName("syncpolicies"), SyncPolicyKind);
    assert.throws(() => kindByName("pods"), (e: unknown) => e instanceof CliError && e.exitCode === Exit.error && /unknown kind "pods"/.test(e.message));
  });

  it("reads duration flags in ms and names the flag of a bad one", () => {
    assert.equal(durationFlag("--timeout", "90s"), 90_000);
    assert.equal(durationFlag("--timeout", "5m"), 300_000);
    assert.throws(() => durationFlag("--timeout", "soon"), (e: unknown) => e instanceof CliError && e.message.startsWith("--timeout: "));
  });

  it("says what to check for API and network errors", () => {
    assert.match(describeError(api(0, "connect ECONNREFUSED")), /^cannot reach the API server: connect ECONNREFUSED; check --kubeconfig/);
    assert.match(describeError(api(401, "Unauthorized")), /refused the credentials \(HTTP 401\)/);
    assert.equal(describeError(api(403, "forbidden: no")), "not allowed (HTTP 403): forbidden: no");
    assert.equal(describeError(api(404, "not found")), "not found (HTTP 404)");
    assert.equal(describeError(new Error("plain")), "plain");
    assert.equal(describeError("text"), "text");
  });

  it("runs a command: its code, or one line on stderr and the error's exit code", async () => {
    const ok = capture();
    assert.equal(await runCommand(ok.io, async () => Exit.negative), Exit.negative);
    assert.deepEqual(ok.err, []);
    const cli = capture();
    assert.equal(await runCommand(cli.io, async () => Promise.reject(new CliError("timed out", Exit.timeout))), Exit.timeout);
    assert.deepEqual(cli.err, ["mooring: timed out"]);
    const other = capture();
    assert.equal(await runCommand(other.io, async () => Promise.reject(api(403, "no"))), Exit.error);
    assert.deepEqual(other.err, ["mooring: not allowed (HTTP 403): no"]);
  });
});

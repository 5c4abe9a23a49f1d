import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { colourDiff, oneLine, shortRevision, table } from "../../../src/cli/format.js";
import { ignoredPointers, normalize, removePointer, yamlPatch } from "../../../src/cli/diff.js";
import { appRow } from "../../../src/cli/ops.js";
import { CliError, Exit, durationFlag, kindByName, runCommand } from "../../../src/cli/kube.js";
import type { Application } from "../../../src/api/index.js";
import type { KubeObject } from "../../../src/runtime/index.js";

const ESC = String.fromCharCode(27);

describe("table", () => {
  it("aligns columns with three spaces and no trailing spaces, like kubectl", () => {
    const t = table(["NAME", "SYNCED", "MESSAGE"], [["web", "Synced", ""], ["a-longer-name", "OutOfSync", "1 object could not be applied"]]);
    assert.equal(t, ["NAME            SYNCED      MESSAGE", "web             Synced", "a-longer-name   OutOfSync   1 object could not be applied"].join("\n"));
  });
});

describe("shortRevision and oneLine", () => {
  it("shortens sha1 and sha256 hashes to 12 hex digits and leaves other text alone", () => {
    assert.equal(shortRevision("main@sha1:" + "0123456789abcdef".repeat(2) + "01234567"), "main@sha1:0123456789ab");
    assert.equal(shortRevision("v1.2.3@sha256:" + "f".repeat(64)), "v1.2.3@sha256:ffffffffffff");
    assert.equal(shortRevision("main"), "main");
    assert.equal(shortRevision(undefined), "");
  });

  it("folds newlines and runs of spaces", () => {
    assert.equal(oneLine("a\n  b\tc "), "a b c");
  });
});

describe("colourDiff", () => {
  const patch = "--- live/x\n+++ sync/x\n@@ -1,2 +1,2 @@\n-a: 1\n+a: 2\n b: 3";
  it("colours removals red, additions green, hunks cyan and headers bold", () => {
    const lines = colourDiff(patch, true).split("\n");
    assert.equal(lines[0], `${ESC}[1m--- live/x${ESC}[0m`);
    assert.equal(lines[1], `${ESC}[1m+++ sync/x${ESC}[0m`);
    assert.equal(lines[2], `${ESC}[36m@@ -1,2 +1,2 @@${ESC}[0m`);
    assert.equal(lines[3], `${ESC}[31m-a: 1${ESC}[0m`);
    assert.equal(lines[4], `${ESC}[32m+a: 2${ESC}[0m`);
    assert.equal(lines[5], " b: 3");
  });
  it("leaves the text alone without colour", () => {
    assert.equal(colourDiff(patch, false), patch);
  });
});

describe("diff helpers", () => {
  const live: KubeObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "n", uid: "u", resourceVersion: "5", generation: 2, creationTimestamp: "t", managedFields: [{ manager: "m" }] },
    data: { a: "1" },
    status: { x: 1 },
  };

  it("normalize drops managedFields, resourceVersion, generation and status, and uid/creationTimestamp only for new objects", () => {
    assert.deepEqual(normalize(live), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n", uid: "u", creationTimestamp: "t" }, data: { a: "1" } });
    assert.deepEqual(normalize(live, true)?.metadata, { name: "c", namespace: "n" });
    assert.equal((live.metadata as Record<string, unknown>).managedFields !== undefined, true, "the input is not modified");
  });

  it("removePointer removes object keys (with ~0 and ~1 escapes) and array items, and ignores missing paths", () => {
    const o = { spec: { replicas: 3, "a/b": 1, "t~x": 2, list: [1, 2, 3] } };
    removePointer(o, "/spec/replicas");
    removePointer(o, "/spec/a~1b");
    removePointer(o, "/spec/t~0x");
    removePointer(o, "/spec/list/1");
    removePointer(o, "/spec/missing/deep");
    removePointer(o, "/nothing");
    assert.deepEqual(o, { spec: { list: [1, 3] } });
  });

  it("ignoredPointers matches group, kind, and the optional name and namespace", () => {
    const app = {
      spec: {
        sourceRef: { kind: "GitRepository", name: "r" },
        ignoreDifferences: [
          { group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas"] },
          { kind: "ConfigMap", name: "only-this", jsonPointers: ["/data/x"] },
          { kind: "ConfigMap", namespace: "other", jsonPointers: ["/data/y"] },
        ],
      },
    } as unknown as Application & KubeObject;
    assert.deepEqual(ignoredPointers(app, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "n" } }), ["/spec/replicas"]);
    assert.deepEqual(ignoredPointers(app, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "only-this", namespace: "n" } }), ["/data/x"]);
    assert.deepEqual(ignoredPointers(app, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "other" } }), ["/data/y"]);
    assert.deepEqual(ignoredPointers(app, { apiVersion: "extensions/v1beta1", kind: "Deployment", metadata: { name: "d" } }), []);
  });

  it("yamlPatch is empty for equal objects and a unified diff otherwise, with /dev/null for creations and deletions", () => {
    const a: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1", b: "2" } };
    assert.equal(yamlPatch("id", a, structuredClone(a)), "");
    const b = { ...a, data: { a: "9", b: "2" } };
    const p = yamlPatch("id", a, b, 1);
    assert.match(p, /^--- live\/id\n\+\+\+ sync\/id\n@@ /);
    assert.match(p, /^-\s+a: "1"$/m);
    assert.match(p, /^\+\s+a: "9"$/m);
    assert.match(yamlPatch("id", undefined, a), /^--- \/dev\/null\n\+\+\+ sync\/id/);
    assert.match(yamlPatch("id", a, undefined), /^--- live\/id\n\+\+\+ \/dev\/null/);
  });
});

describe("appRow", () => {
  const base = { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: "demo" }, spec: { sourceRef: { kind: "GitRepository", name: "r" } } };

  it("reads revision, sync status, health and the Ready message, with Unknown for what is missing", () => {
    assert.deepEqual(appRow(base as Application & KubeObject), { namespace: "demo", name: "web", revision: "", synced: "Unknown", health: "Unknown", ready: "Unknown", suspended: false, message: "" });
    const app = {
      ...base,
      status: {
        sync: { revision: "main@sha1:abc" },
        health: { status: "Degraded" },
        conditions: [
          { type: "Synced", status: "False", reason: "SyncFailed", message: "x", lastTransitionTime: "t" },
          { type: "Ready", status: "False", reason: "SyncFailed", message: "1 object\ncould not be applied", lastTransitionTime: "t" },
        ],
      },
    };
    assert.deepEqual(appRow(app as unknown as Application & KubeObject), { namespace: "demo", name: "web", revision: "main@sha1:abc", synced: "OutOfSync", health: "Degraded", ready: "False", suspended: false, message: "1 object could not be applied" });
  });

  it("prefers the Stalled message and says when the Application is suspended", () => {
    const app = {
      ...base,
      spec: { ...base.spec, suspend: true },
      status: { conditions: [{ type: "Stalled", status: "True", reason: "InvalidSpec", message: "bad spec", lastTransitionTime: "t" }, { type: "Ready", status: "False", reason: "InvalidSpec", message: "other", lastTransitionTime: "t" }] },
    };
    const r = appRow(app as unknown as Application & KubeObject);
    assert.equal(r.message, "suspended; bad spec");
    assert.equal(r.suspended, true);
  });
});

describe("kube helpers", () => {
  it("kindByName accepts the kubectl names and rejects others with a CliError", () => {
    for (const n of ["gitrepository", "GitRepos", "app", "mapp", "applications", "syncpolicy"]) assert.ok(kindByName(n).kind);
    assert.throws(() => kindByName("pods"), (e: unknown) => e instanceof CliError && e.exitCode === Exit.error);
  });

  it("durationFlag parses durations and names the flag on error", () => {
    assert.equal(durationFlag("--timeout", "1m30s"), 90_000);
    assert.throws(() => durationFlag("--timeout", "soon"), /--timeout: "soon" is not a duration/);
  });

  it("runCommand turns errors into one line and their exit code", async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), color: false };
    assert.equal(await runCommand(io, async () => Exit.negative), Exit.negative);
    assert.equal(await runCommand(io, async () => { throw new CliError("waited too long", Exit.timeout); }), Exit.timeout);
    assert.equal(await runCommand(io, async () => { throw new Error("boom"); }), Exit.error);
    assert.deepEqual(err, ["mooring: waited too long", "mooring: boom"]);
  });
});

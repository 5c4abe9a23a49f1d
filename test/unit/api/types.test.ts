// The TypeScript types come from the same schemas: these objects are written against the types (so a schema
// change that breaks them fails `make typecheck`) and must also pass the validator.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  APPLICATION_API_VERSION, GIT_REPOSITORY_API_VERSION, SYNC_POLICY_API_VERSION, ConditionTypes, Reasons, validate,
  type Application, type GitRepository, type SyncPolicy, type HealthStatus, type RenderType,
} from "../../../src/api/index.js";

const repo: GitRepository = {
  apiVersion: GIT_REPOSITORY_API_VERSION,
  kind: "GitRepository",
  metadata: { name: "repo", namespace: "team" },
  spec: { url: "https://git.example.com/r.git", ref: { semver: "^1.2.0" }, secretRef: { name: "creds" } },
  status: {
    observedGeneration: 2,
    conditions: [{ type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message: "stored", lastTransitionTime: "2026-01-01T00:00:00Z" }],
    artifact: { url: "http://x/a.tgz", revision: `main@sha1:${"a".repeat(40)}`, digest: `sha256:${"b".repeat(64)}`, lastUpdateTime: "2026-01-01T00:00:00Z" },
  },
};

const render: RenderType = "helm";
const health: HealthStatus = "Progressing";
const app: Application = {
  apiVersion: APPLICATION_API_VERSION,
  kind: "Application",
  metadata: { name: "app" },
  spec: {
    sourceRef: { kind: "GitRepository", name: "repo", namespace: "team" },
    render: { type: render, helm: { values: { replicaCount: 2, nested: { any: ["thing"] } }, valuesFrom: [{ kind: "Secret", name: "v" }] } },
    dependsOn: [{ name: "infra" }],
  },
  status: { health: { status: health }, sync: { status: "OutOfSync", inventory: [{ id: "ns_web_apps_Deployment", v: "v1" }] } },
};

const policy: SyncPolicy = {
  apiVersion: SYNC_POLICY_API_VERSION,
  kind: "SyncPolicy",
  metadata: { name: "p" },
  spec: { automated: { enabled: false }, windows: [{ kind: "deny", schedule: "0 22 * * 5", duration: "60h" }], options: { prunePropagationPolicy: "foreground" } },
};

void describe("API types", () => {
  void it("type objects that the validator accepts", () => {
    for (const obj of [repo, app, policy]) assert.deepEqual(validate(obj).errors, [], obj.kind);
  });
});

// The SyncPolicy controller: keeps SyncPolicy.status current — Ready (the policy is valid), WindowOpen (automated
// syncs allowed now, and why), nextWindowChange, and how many Applications reference the policy.
//   read (cache) → evaluatePolicy (pure, ./status.ts) → write status by server-side apply as mooring-policy, only
//   when it differs → requeue at the next window change (or daily, so the bounded search horizon slides forward).
// Applications are watched and mapped to the policy they name (old and new ref on a change), so the count follows.
import { isDeepStrictEqual } from "node:util";
import { ApplicationKind, ConditionTypes, FieldManagers, SyncPolicyKind, type Application, type SyncPolicy } from "../api/index.js";
import type { OperatorConfig } from "../config.js";
import {
  getCondition,
  or,
  annotationsChanged,
  generationChanged,
  type Condition,
  type Controller,
  type KubeObject,
  type Manager,
  type Predicate,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import { evaluatePolicy } from "./status.js";

export interface SyncPolicyControllerOptions extends Partial<Pick<OperatorConfig, "concurrency">> {
  /** The clock windows are evaluated with (ms since the epoch); default the manager's clock, else Date.now. */
  now?: () => number;
}

export interface SyncPolicyController {
  controller: Controller;
}

type PolicyObject = SyncPolicy & KubeObject;
type ApplicationObject = Application & KubeObject;

const policyRefOf = (app: ApplicationObject): string | undefined => app.spec?.syncPolicyRef?.name;

/** Application events that can change a policy's count: create, delete, and a changed syncPolicyRef. */
const refChanged: Predicate<ApplicationObject> = {
  create: (a) => policyRefOf(a) !== undefined,
  update: (o, n) => policyRefOf(o) !== policyRefOf(n),
  delete: (a) => policyRefOf(a) !== undefined,
};

/** Our own status writes change neither generation nor annotations, so they do not trigger a reconcile. */
const policyChanged: Predicate = or(generationChanged, annotationsChanged);

/** Sets up the SyncPolicy controller on `mgr`: reconciles SyncPolicies, woken by the Applications that name them. */
export function setupSyncPolicyController(mgr: Manager, opts: SyncPolicyControllerOptions = {}): SyncPolicyController {
  const client = mgr.client;
  const now = opts.now ?? (() => mgr.clock?.now() ?? Date.now());
  const events = mgr.eventRecorder(FieldManagers.policy);

  // The status last written per policy, with the resourceVersion the cache showed then: until the cache catches up
  // with our own write, a second reconcile would see the old status and write the same one again.
  const written = new Map<string, { status: string; staleRv: string | undefined }>();

  const reconcile = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const policy = await client.get<PolicyObject>(SyncPolicyKind, req.name, req.namespace);
    if (!policy || policy.metadata?.deletionTimestamp) {
      written.delete(`${req.namespace}/${req.name}`);
      return {};
    }
    const apps = await client.list<ApplicationObject>(ApplicationKind, { namespace: req.namespace });
    const count = apps.filter((a) => policyRefOf(a) === req.name).length;
    const t = now();
    const { status, invalid, requeueAfterMs } = evaluatePolicy(policy, count, t);

    const key = `${req.namespace}/${req.name}`;
    const json = JSON.stringify(status);
    const last = written.get(key);
    const cacheBehindOwnWrite = last !== undefined && last.status === json && last.staleRv === policy.metadata?.resourceVersion;
    if (!cacheBehindOwnWrite && !isDeepStrictEqual(JSON.parse(json), policy.status ?? {})) {
      written.set(key, { status: json, staleRv: policy.metadata?.resourceVersion });
      await client.applyStatus(
        { apiVersion: policy.apiVersion, kind: policy.kind, metadata: { name: req.name, namespace: req.namespace }, status } as KubeObject,
        { fieldManager: FieldManagers.policy, signal: ctx.signal },
      );
      const before = getCondition(policy.status?.conditions as Condition[] | undefined, ConditionTypes.windowOpen);
      const after = getCondition(status.conditions as Condition[] | undefined, ConditionTypes.windowOpen);
      if (invalid !== undefined && before?.reason !== after?.reason) events.warning(policy, "InvalidSpec", "Validate", invalid);
      else if (before && after && before.status !== after.status && after.status !== "Unknown") {
        events.normal(policy, after.status === "True" ? "WindowOpened" : "WindowClosed", "Evaluate", after.message);
      }
      ctx.log.debug("status written", { windowOpen: after?.status, reason: after?.reason, applications: count });
    }
    return requeueAfterMs !== undefined ? { requeueAfter: requeueAfterMs } : {};
  };

  const controller = mgr
    .controller("syncpolicy")
    .for<PolicyObject>(SyncPolicyKind, { predicates: [policyChanged] })
    .watches<ApplicationObject>(
      ApplicationKind,
      (app) => {
        const ref = policyRefOf(app);
        return ref ? [{ namespace: app.metadata?.namespace ?? "", name: ref }] : [];
      },
      { predicates: [refChanged] },
    )
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 2 })
    .build(reconcile);
  return { controller };
}

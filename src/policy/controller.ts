// The SyncPolicy controller: keeps SyncPolicy.status current — Ready (the policy is valid), WindowOpen (automated
// syncs allowed now, and why), nextWindowChange, and how many Applications reference the policy.
//   read (cache) → evaluatePolicy (pure, ./status.ts) → write status by server-side apply as mooring-policy (a
//   StatusWriter: only when it differs) → requeue at the next window change (or daily, so the bounded search
//   horizon slides forward).
// Applications are watched and mapped to the policy they name (old and new ref on a change), so the count follows.
import { ApplicationKind, ConditionTypes, FieldManagers, SyncPolicyKind, type Application, type SyncPolicy } from "../api/index.js";
import type { OperatorConfig } from "../config.js";
import {
  getCondition,
  or,
  annotationsChanged,
  generationChanged,
  StatusWriter,
  type Condition,
  type Controller,
  type EventRecorder,
  type KubeObject,
  type Manager,
  type Predicate,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import { type PolicyStatus, evaluatePolicy } from "./status.js";

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

/** Events for a status change: the spec became invalid, or the window opened or closed. */
function recordChange(events: EventRecorder, policy: PolicyObject, before: PolicyStatus, after: PolicyStatus, invalid: string | undefined): void {
  const was = getCondition(before.conditions as Condition[] | undefined, ConditionTypes.windowOpen);
  const now = getCondition(after.conditions as Condition[] | undefined, ConditionTypes.windowOpen);
  if (invalid !== undefined && was?.reason !== now?.reason) events.warning(policy, "InvalidSpec", "Validate", invalid);
  else if (was && now && was.status !== now.status && now.status !== "Unknown") {
    events.normal(policy, now.status === "True" ? "WindowOpened" : "WindowClosed", "Evaluate", now.message);
  }
}

/** Sets up the SyncPolicy controller on `mgr`: reconciles SyncPolicies, woken by the Applications that name them. */
export function setupSyncPolicyController(mgr: Manager, opts: SyncPolicyControllerOptions = {}): SyncPolicyController {
  const client = mgr.client;
  const now = opts.now ?? (() => mgr.clock?.now() ?? Date.now());
  const events = mgr.eventRecorder(FieldManagers.policy);
  // Writes only a changed status, and stands in for the object while the cache does not show its own last write.
  const writer = new StatusWriter<PolicyStatus>({ client, fieldManager: FieldManagers.policy });

  const reconcile = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const policy = await client.get<PolicyObject>(SyncPolicyKind, req.name, req.namespace);
    if (!policy || policy.metadata?.deletionTimestamp) {
      writer.forget(req);
      return {};
    }
    const apps = await client.list<ApplicationObject>(ApplicationKind, { namespace: req.namespace });
    const count = apps.filter((a) => policyRefOf(a) === req.name).length;
    const before = writer.current(policy);
    const { status, invalid, requeueAfterMs } = evaluatePolicy({ ...policy, status: before }, count, now());
    if (await writer.write(policy, status, { signal: ctx.signal })) {
      recordChange(events, policy, before, status, invalid);
      const windowOpen = getCondition(status.conditions as Condition[] | undefined, ConditionTypes.windowOpen);
      ctx.log.debug("status written", { windowOpen: windowOpen?.status, reason: windowOpen?.reason, applications: count });
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

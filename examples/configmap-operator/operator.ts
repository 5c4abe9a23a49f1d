// An example operator written only against Mooring's public runtime API: for each Greeting (a small CRD this
// example installs itself) it keeps a ConfigMap holding the greeting's message, reports status with kstatus
// conditions, and cleans up through a finalizer.
//
//   npx tsx examples/configmap-operator/operator.ts      (uses $KUBECONFIG or ~/.kube/config)
// Environment: GREETING_NAMESPACE (watch one namespace), HEALTH_ADDR (":8081"), METRICS_ADDR (":8080").
import {
  type Client,
  type KindDescriptor,
  Kinds,
  KubeConfig,
  type KubeObject,
  Manager,
  type ReconcileContext,
  type Request,
  type Result,
  TerminalError,
  type StatusWithConditions,
  generationChanged,
  markReady,
  markStalled,
  or,
  labelsChanged,
  setControllerReference,
  withFinalizer,
} from "../../src/runtime/index.js";

export const Greeting: KindDescriptor = { group: "examples.mooring.dev", version: "v1", kind: "Greeting", plural: "greetings", namespaced: true };
export const FINALIZER = "examples.mooring.dev/cleanup";
export const FIELD_MANAGER = "greeting-operator";

export interface GreetingObject extends KubeObject {
  spec: { message: string };
  status?: StatusWithConditions;
}

export const greetingCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "greetings.examples.mooring.dev" },
  spec: {
    group: "examples.mooring.dev",
    scope: "Namespaced",
    names: { kind: "Greeting", plural: "greetings", singular: "greeting", listKind: "GreetingList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", required: ["message"], properties: { message: { type: "string" } } },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};

/** Installs (server-side applies) the Greeting CRD. */
export async function installCrd(client: Client): Promise<void> {
  await client.apply(greetingCrd, { fieldManager: FIELD_MANAGER, force: true });
}

/** The name of the ConfigMap kept for a Greeting. */
export const configMapName = (greeting: string) => `${greeting}-greeting`;

/** Registers the Greeting controller with a manager. */
export function addGreetingController(mgr: Manager): void {
  const client = mgr.client;
  const events = mgr.eventRecorder("examples.mooring.dev/greeting-operator");

  async function reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const greeting = await client.get<GreetingObject>(Greeting, req.name, req.namespace);
    if (!greeting) return {}; // deleted; the owned ConfigMap is garbage-collected through its ownerReference

    return withFinalizer(client, greeting, FINALIZER, {
      apply: async (g) => {
        if (!g.spec.message.trim()) {
          // Retrying cannot fix an empty message: say so in status, and do not retry until the spec changes.
          await client.applyStatus({ ...g, status: markStalled(g.status ?? {}, g.metadata?.generation, "EmptyMessage", "spec.message is empty; set a message") }, { fieldManager: FIELD_MANAGER, signal: ctx.signal });
          throw new TerminalError(`Greeting ${req.namespace}/${req.name} has an empty spec.message`);
        }
        const cm = setControllerReference(g, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: configMapName(req.name), namespace: req.namespace, labels: { "app.kubernetes.io/managed-by": "greeting-operator" } },
          data: { message: g.spec.message },
        });
        await client.apply(cm, { fieldManager: FIELD_MANAGER, signal: ctx.signal });
        const status = markReady(g.status ?? {}, g.metadata?.generation, "ConfigMapSynced", `ConfigMap ${cm.metadata!.name} holds the message`);
        await client.applyStatus({ ...g, status }, { fieldManager: FIELD_MANAGER, signal: ctx.signal });
        events.normal(g, "Synced", "Reconcile", `ConfigMap ${cm.metadata!.name} is up to date`);
        return {};
      },
      cleanup: async (g) => {
        ctx.log.info("cleaning up before the Greeting is deleted");
        events.normal(g, "CleanedUp", "Delete", "the greeting is being deleted");
      },
    }, { signal: ctx.signal });
  }

  mgr
    .controller("greeting")
    // Spec changes bump the generation; label edits are also of interest. Status-only writes are not.
    .for(Greeting, { predicates: [or(generationChanged, labelsChanged)] })
    // A ConfigMap edited or deleted by hand is put back: its events enqueue the owning Greeting.
    .owns(Kinds.ConfigMap)
    .withOptions({ maxConcurrentReconciles: 2, reconcileTimeoutMs: 30_000 })
    .build(reconcile);
}

async function main(): Promise<void> {
  const kc = KubeConfig.fromDefault(); // KUBECONFIG, ~/.kube/config, or the Pod's ServiceAccount
  const mgr = new Manager({
    kubeConfig: kc,
    namespace: process.env.GREETING_NAMESPACE || undefined,
    fieldManager: FIELD_MANAGER,
    healthAddr: process.env.HEALTH_ADDR ?? ":8081",
    metricsAddr: process.env.METRICS_ADDR ?? ":8080",
  });
  await installCrd(mgr.client.live());
  addGreetingController(mgr);
  await mgr.start(); // until SIGTERM/SIGINT
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`greeting operator failed: ${(err as Error).message}`);
    process.exit(1);
  });
}

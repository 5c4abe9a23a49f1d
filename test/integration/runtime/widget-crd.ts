// A small CRD the runtime's integration tests own: namespaced, with a status subresource, open schema.
// Installed once (idempotently) and left in place; nothing else uses its group.
import type { TestCluster } from "../../support/cluster.js";
import { waitFor } from "../../support/wait.js";
import { Client, Kinds, type KindDescriptor, RestClient, RestMapper } from "../../../src/runtime/index.js";

export const Widget: KindDescriptor = { group: "runtime-test.mooring.dev", version: "v1", kind: "Widget", plural: "widgets", namespaced: true };

export function widgetCrd(group = Widget.group) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
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
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  };
}

function client(c: TestCluster): { client: Client; close(): void } {
  const rest = RestClient.fromKubeConfig(c.kc);
  return { client: new Client({ rest, mapper: new RestMapper(rest), fieldManager: "rt-test" }), close: () => rest.close() };
}

/** Installs (server-side applies) the CRD for `group` and waits until it is Established. */
export async function installWidgetCrd(c: TestCluster, group = Widget.group): Promise<void> {
  // Our own client, not client-node's typed one: its serializer drops x-kubernetes-preserve-unknown-fields.
  const { client: cl, close } = client(c);
  try {
    await cl.apply(widgetCrd(group), { force: true });
    await waitFor(`CRD widgets.${group} to be established`, async () => {
      const crd = await cl.get<{ status?: { conditions?: { type: string; status: string }[] } }>(Kinds.CustomResourceDefinition, `widgets.${group}`);
      return crd?.status?.conditions?.some((x) => x.type === "Established" && x.status === "True");
    });
  } finally {
    close();
  }
}

export async function deleteWidgetCrd(c: TestCluster, group: string): Promise<void> {
  const { client: cl, close } = client(c);
  await cl.delete({ ...widgetCrd(group) }).catch(() => undefined);
  close();
}

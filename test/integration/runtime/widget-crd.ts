// A small CRD the runtime's integration tests own: namespaced, with a status subresource, open schema.
// Installed once (idempotently) and left in place; nothing else uses its group.
import type { TestCluster } from "../../support/cluster.js";
import { waitFor } from "../../support/wait.js";
import type { KindDescriptor } from "../../../src/runtime/index.js";
import * as k8s from "@kubernetes/client-node";

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

/** Installs the CRD for `group` if needed and waits until it is Established. */
export async function installWidgetCrd(c: TestCluster, group = Widget.group): Promise<void> {
  const ext = c.kc.makeApiClient(k8s.ApiextensionsV1Api);
  try {
    await ext.createCustomResourceDefinition({ body: widgetCrd(group) as k8s.V1CustomResourceDefinition });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await waitFor(`CRD widgets.${group} to be established`, async () => {
    const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
    return crd.status?.conditions?.some((x) => x.type === "Established" && x.status === "True");
  });
}

export async function deleteWidgetCrd(c: TestCluster, group: string): Promise<void> {
  const ext = c.kc.makeApiClient(k8s.ApiextensionsV1Api);
  await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` }).catch(() => undefined);
}

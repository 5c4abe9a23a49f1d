// Objects the runtime's unit tests share.
import type { KubeObject } from "../../../src/runtime/kinds.js";

/** A ConfigMap ns/<name> at resourceVersion `rv`, with more metadata when given. */
export const obj = (name: string, rv: string, extra: Partial<NonNullable<KubeObject["metadata"]>> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", resourceVersion: rv, ...extra },
});

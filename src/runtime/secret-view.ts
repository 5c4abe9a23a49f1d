// A cache view of Secrets without their data: what a controller that only needs to know *that* a Secret changed
// holds in memory (the render controller watches the Secrets Applications read this way, and reads the few it needs
// live). A cluster's Secrets (Helm release records, tokens, certificates) are mostly large and none of our business;
// holding them was both a memory and an exposure cost, so the view keeps names, labels and a digest of the data only.
//
// The data has copies outside `data`: `kubectl apply` stores the whole applied object, data included, in the
// last-applied-configuration annotation, and other tools keep similar copies. The view drops those annotations too,
// and any other annotation whose value contains one of the Secret's values.
import { createHash } from "node:crypto";
import type { Selection } from "./cache.js";
import type { KubeObject } from "./kinds.js";
import { stableJson } from "./status.js";

/** Annotations known to hold a copy of the object they are on, data included. */
export const DATA_COPY_ANNOTATIONS: readonly string[] = [
  "kubectl.kubernetes.io/last-applied-configuration", // kubectl apply (client-side), and Argo CD's client-side apply
  "kapp.k14s.io/original", // Carvel kapp
  "kapp.k14s.io/original-diff",
];

/**
 * sha256 of a Secret's data as the API returns it (base64 values): what stands in for the data in the view. It
 * changes whenever a value or a key does, and equals what the same function gives for the live object's `data`.
 */
export function secretDataDigest(data: unknown): string {
  // Keys sorted: equal data always has the same digest.
  return createHash("sha256").update(stableJson(data ?? null)).digest("hex");
}

/**
 * Every form a value of the Secret can appear in elsewhere: as stored (base64) and decoded, plus stringData.
 * (The CLI uses these to keep values out of what it prints.)
 */
export function secretValues(obj: { data?: unknown; stringData?: unknown }): string[] {
  const out = new Set<string>();
  for (const [field, map] of [["data", obj.data], ["stringData", obj.stringData]] as const) {
    if (!map || typeof map !== "object") continue;
    for (const v of Object.values(map as Record<string, unknown>)) {
      if (typeof v !== "string" || v === "") continue;
      out.add(v);
      if (field === "data") {
        const decoded = Buffer.from(v, "base64").toString("utf8");
        if (decoded) out.add(decoded);
      }
    }
  }
  return [...out];
}

/**
 * True when an annotation's value may hold the Secret's data: a known copy, or a value containing one of the
 * Secret's values. Values under four characters count only when the whole annotation equals them, since such short
 * strings occur in ordinary text by chance (dropping an annotation from a data-less view costs nothing anyway).
 */
export function annotationHoldsData(key: string, value: string, values: readonly string[]): boolean {
  if (DATA_COPY_ANNOTATIONS.includes(key)) return true;
  return values.some((v) => (v.length >= 4 ? value.includes(v) : value === v));
}

/**
 * The Secret without `data`, `stringData`, managedFields and any annotation that may hold the data, plus
 * `dataDigest`. Returns a new object; the input is not modified.
 */
export function secretWithoutData(obj: KubeObject): KubeObject {
  const { data, stringData, ...rest } = obj as KubeObject & { data?: unknown; stringData?: unknown };
  const values = secretValues({ data, stringData });
  const { managedFields: _mf, annotations, ...meta } = rest.metadata ?? {};
  const kept = Object.entries(annotations ?? {}).filter(([k, v]) => !annotationHoldsData(k, String(v), values));
  const metadata = kept.length ? { ...meta, annotations: Object.fromEntries(kept) } : meta;
  return { ...rest, ...(rest.metadata ? { metadata } : {}), dataDigest: secretDataDigest(data) } as KubeObject;
}

/** The cache selection of Secrets through this view (an informer of its own: reads through the client see data). */
export const SECRETS_WITHOUT_DATA: Selection = {
  view: { name: "secrets-without-data", transform: secretWithoutData },
};

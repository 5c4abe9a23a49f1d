// How an applied object names the Application that owns it. The label selects (watches, prune checks) and must fit
// Kubernetes' label-value limit of 63 characters; the annotation carries the full identity, which has no such limit.
import { createHash } from "node:crypto";
import { Annotations, Labels } from "./constants.js";

/** Longest label value Kubernetes accepts. */
const LABEL_VALUE_MAX = 63;
/** Hex digits of the identity's sha256 kept in a shortened label value (64 bits: collisions are not a concern). */
const HASH_CHARS = 16;

/**
 * The ownership label value of the Application `namespace`/`name`: `<namespace>.<name>` when that fits (the value
 * every earlier release wrote, so existing objects keep their owner), otherwise a readable prefix of it, a dash and a
 * hash of the full identity. Namespaces have no dots, so `<namespace>.<name>` is unambiguous.
 */
export function ownerLabelValue(namespace: string, name: string): string {
  const plain = `${namespace}.${name}`;
  if (plain.length <= LABEL_VALUE_MAX) return plain;
  const hash = createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, HASH_CHARS);
  // A label value must end with an alphanumeric before the dash: trim what the cut left at the end.
  const prefix = plain.slice(0, LABEL_VALUE_MAX - HASH_CHARS - 1).replace(/[^A-Za-z0-9]+$/, "");
  return `${prefix}-${hash}`;
}

/** The value of the ownership annotation: `<namespace>/<name>`, the full identity. */
export function ownerRef(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

interface Meta {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/**
 * The Application that owns an applied object, from the annotation, or from the label for objects applied before
 * the annotation existed (those labels are always the plain `<namespace>.<name>`).
 */
export function ownerOf(obj: Meta): { namespace: string; name: string } | undefined {
  const ref = obj.metadata?.annotations?.[Annotations.applicationRef];
  if (ref) {
    const i = ref.indexOf("/");
    if (i > 0 && i < ref.length - 1) return { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
  }
  const v = obj.metadata?.labels?.[Labels.application];
  if (!v) return undefined;
  const i = v.indexOf(".");
  return i > 0 && i < v.length - 1 ? { namespace: v.slice(0, i), name: v.slice(i + 1) } : undefined;
}

// Owner references: what garbage collection follows, and what owns() maps events back through.
import { type KindDescriptor, type KubeObject, type OwnerReference, apiVersionOf } from "./kinds.js";

/** `obj` already has a different controller owner; only one controller may own an object. */
export class AlreadyOwnedError extends Error {}

function refTo(owner: KubeObject, kind?: KindDescriptor): OwnerReference {
  const m = owner.metadata ?? {};
  const apiVersion = kind ? apiVersionOf(kind) : owner.apiVersion;
  const k = kind?.kind ?? owner.kind;
  if (!apiVersion || !k || !m.name || !m.uid) throw new Error("an owner needs apiVersion, kind, metadata.name and metadata.uid (read it from the API first)");
  return { apiVersion, kind: k, name: m.name, uid: m.uid };
}

function checkScope(owner: KubeObject, obj: KubeObject): void {
  const ons = owner.metadata?.namespace;
  const ns = obj.metadata?.namespace;
  if (ons && ons !== ns) throw new Error(`cross-namespace owner references are not allowed: ${owner.kind} ${ons}/${owner.metadata?.name} cannot own an object in "${ns ?? "(cluster scope)"}"`);
}

/** Adds (or updates) an owner reference to `owner`; returns the object (mutated). */
export function setOwnerReference<T extends KubeObject>(owner: KubeObject, obj: T, kind?: KindDescriptor): T {
  checkScope(owner, obj);
  const ref = refTo(owner, kind);
  obj.metadata ??= {};
  const refs = (obj.metadata.ownerReferences ??= []);
  const i = refs.findIndex((r) => r.uid === ref.uid);
  if (i >= 0) refs[i] = { ...refs[i], ...ref };
  else refs.push(ref);
  return obj;
}

/** Marks `owner` as the controller of `obj` (controller: true, blockOwnerDeletion: true). */
export function setControllerReference<T extends KubeObject>(owner: KubeObject, obj: T, kind?: KindDescriptor): T {
  checkScope(owner, obj);
  const ref = { ...refTo(owner, kind), controller: true, blockOwnerDeletion: true };
  const existing = controllerOf(obj);
  if (existing && existing.uid !== ref.uid) {
    throw new AlreadyOwnedError(`${obj.kind ?? "object"} ${obj.metadata?.name} is already controlled by ${existing.kind} ${existing.name}; it cannot also be controlled by ${ref.kind} ${ref.name}`);
  }
  obj.metadata ??= {};
  const refs = (obj.metadata.ownerReferences ??= []);
  const i = refs.findIndex((r) => r.uid === ref.uid);
  if (i >= 0) refs[i] = ref;
  else refs.push(ref);
  return obj;
}

/** The owner reference marked controller: true, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function isOwnedBy(obj: KubeObject, owner: KubeObject): boolean {
  const uid = owner.metadata?.uid;
  return !!uid && (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
}

// Event filters: which changes are worth a reconcile. A predicate may decide per event type; a missing method means
// "let it through". Compose them with and/or/not.
import type { KubeObject } from "./kinds.js";
import { LabelSelector, type LabelSelectorObject } from "./labels.js";

export interface Predicate<T extends KubeObject = KubeObject> {
  create?(obj: T): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

export type EventType = "create" | "update" | "delete";

/** Applies a predicate to one event. */
export function admits<T extends KubeObject>(p: Predicate<T>, type: EventType, obj: T, oldObj?: T): boolean {
  switch (type) {
    case "create":
      return p.create ? p.create(obj) : true;
    case "update":
      return p.update ? p.update(oldObj ?? obj, obj) : true;
    case "delete":
      return p.delete ? p.delete(obj) : true;
  }
}

const sameRecord = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean => {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((k) => a![k] === b?.[k]);
};

/** Updates pass only when metadata.generation changed (spec changes, not status or metadata-only ones). */
export const generationChanged: Predicate = {
  update: (o, n) => o.metadata?.generation !== n.metadata?.generation,
};

/** Updates pass only when the labels changed. */
export const labelsChanged: Predicate = {
  update: (o, n) => !sameRecord(o.metadata?.labels, n.metadata?.labels),
};

/** Updates pass only when the annotations changed. */
export const annotationsChanged: Predicate = {
  update: (o, n) => !sameRecord(o.metadata?.annotations, n.metadata?.annotations),
};

/** Updates pass only when the annotation `key` changed (e.g. a "reconcile now" annotation a CLI sets). */
export function annotationChanged(key: string): Predicate {
  return { update: (o, n) => o.metadata?.annotations?.[key] !== n.metadata?.annotations?.[key] };
}

/** Updates pass only when the resourceVersion changed (drops duplicate notifications). */
export const resourceVersionChanged: Predicate = {
  update: (o, n) => o.metadata?.resourceVersion !== n.metadata?.resourceVersion,
};

/** Every event passes only for objects whose labels match (string syntax or a LabelSelector object). */
export function labelSelector(selector: string | LabelSelectorObject): Predicate {
  const sel = typeof selector === "string" ? LabelSelector.parse(selector) : LabelSelector.fromObject(selector);
  return {
    create: (o) => sel.matches(o.metadata?.labels),
    update: (_o, n) => sel.matches(n.metadata?.labels),
    delete: (o) => sel.matches(o.metadata?.labels),
  };
}

/** A predicate from one function applied to every event (for updates, to the new object). */
export function predicate<T extends KubeObject = KubeObject>(fn: (obj: T, event: EventType) => boolean): Predicate<T> {
  return { create: (o) => fn(o, "create"), update: (_o, n) => fn(n, "update"), delete: (o) => fn(o, "delete") };
}

export function and<T extends KubeObject>(...ps: Predicate<T>[]): Predicate<T> {
  return {
    create: (o) => ps.every((p) => admits(p, "create", o)),
    update: (o, n) => ps.every((p) => admits(p, "update", n, o)),
    delete: (o) => ps.every((p) => admits(p, "delete", o)),
  };
}

export function or<T extends KubeObject>(...ps: Predicate<T>[]): Predicate<T> {
  return {
    create: (o) => ps.some((p) => admits(p, "create", o)),
    update: (o, n) => ps.some((p) => admits(p, "update", n, o)),
    delete: (o) => ps.some((p) => admits(p, "delete", o)),
  };
}

export function not<T extends KubeObject>(p: Predicate<T>): Predicate<T> {
  return {
    create: (o) => !admits(p, "create", o),
    update: (o, n) => !admits(p, "update", n, o),
    delete: (o) => !admits(p, "delete", o),
  };
}

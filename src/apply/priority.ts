// What the apply controller looks at first. Every new revision makes the render controller write the status of every
// Application of the source, most of them with the same rendered digest (the commit changed nothing they render), and
// each write wakes the apply controller. In a first-in-first-out queue the Application the commit did change waited
// behind all of those bookkeeping reconciles; so an update that changes nothing the apply controller acts on (the
// rendered digest, the spec, the annotations that ask for a sync or a rollback, deletion) is queued at low priority.
import type { Application } from "../api/index.js";
import { Priority, type KubeObject, type PriorityFunc } from "../runtime/index.js";

type AppObject = Application & KubeObject;

const digestOf = (a: AppObject | undefined) => a?.status?.render?.artifact?.digest;
const sameAnnotations = (a: AppObject, b: AppObject) => JSON.stringify(a.metadata?.annotations ?? {}) === JSON.stringify(b.metadata?.annotations ?? {});

/** Low for an update of only what the apply controller does not act on (other controllers' bookkeeping, its own writes). */
export const applicationPriority: PriorityFunc<AppObject> = (type, obj, old) => {
  if (type !== "update" || !old) return Priority.normal;
  const same =
    old.metadata?.generation === obj.metadata?.generation &&
    old.metadata?.deletionTimestamp === obj.metadata?.deletionTimestamp &&
    digestOf(old) === digestOf(obj) &&
    sameAnnotations(old, obj);
  return same ? Priority.low : Priority.normal;
};

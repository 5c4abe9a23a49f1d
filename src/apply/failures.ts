// Apply and delete errors as failures that name the object, the cause and the fix (a conflict's other field
// manager and field, an immutable field, a forbidden or invalid object, a kind not served), shared by the applier
// and prune; and the abortable sleep both wait with.
import { ApiError, isConflict, isForbidden, isInvalid } from "../runtime/rest.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import { type ObjectRef, describeRef } from "./inventory.js";

export type FailureKind = "conflict" | "ownership" | "immutable" | "forbidden" | "invalid" | "unknownKind" | "other";

export interface ApplyFailure {
  ref: ObjectRef;
  kind: FailureKind;
  message: string;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

interface Conflict {
  manager: string;
  field: string;
}

/** The other managers and fields named in a 409 apply conflict. */
export function conflictsOf(err: ApiError): Conflict[] {
  const causes = (err.status.details?.causes ?? []) as { type?: string; message?: string; field?: string }[];
  const out: Conflict[] = [];
  for (const c of causes) {
    if (c.type && c.type !== "FieldManagerConflict") continue;
    const m = /conflict with "([^"]+)"/.exec(c.message ?? "");
    out.push({ manager: m?.[1] ?? "another manager", field: c.field ?? "?" });
  }
  if (out.length === 0) {
    const m = /conflict with "([^"]+)"[^:]*: ?(\S+)?/.exec(err.status.message ?? "");
    if (m) out.push({ manager: m[1]!, field: m[2] ?? "?" });
  }
  return out;
}

const IMMUTABLE = /immutable|may not change once set|cannot be changed|is not allowed to change/i;

export function isImmutableError(err: unknown): boolean {
  if (!isInvalid(err)) return false;
  const e = err as ApiError;
  const causes = (e.status.details?.causes ?? []) as { message?: string }[];
  return IMMUTABLE.test(e.status.message ?? "") || causes.some((c) => IMMUTABLE.test(c.message ?? ""));
}

/** An apply (or delete) error as a failure naming the object, the cause and, where there is one, the fix. */
export function failure(ref: ObjectRef, err: unknown, force: boolean): ApplyFailure {
  const what = describeRef(ref);
  if (err instanceof ApiError && isConflict(err)) {
    const cs = conflictsOf(err);
    const list = cs.map((c) => `field ${c.field} is owned by field manager "${c.manager}"`).join("; ");
    return { ref, kind: "conflict", message: `${what}: apply conflict: ${list || err.status.message}; remove that manager's change or set options.force in the SyncPolicy to take the fields over` };
  }
  if (isImmutableError(err)) {
    return {
      ref,
      kind: "immutable",
      message: `${what}: an immutable field changed (${(err as ApiError).status.message})${force ? "" : "; set options.force in the SyncPolicy to delete and re-create it"}`,
    };
  }
  if (isForbidden(err)) return { ref, kind: "forbidden", message: `${what}: forbidden: ${(err as ApiError).status.message}` };
  if (isInvalid(err)) return { ref, kind: "invalid", message: `${what}: invalid: ${(err as ApiError).status.message}` };
  if (err instanceof NoKindMatchError) return { ref, kind: "unknownKind", message: `${what}: ${err.message}` };
  return { ref, kind: "other", message: `${what}: ${(err as Error).message}` };
}

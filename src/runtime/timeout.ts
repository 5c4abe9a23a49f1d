// A timeout signal that still fires after a garbage collection when it is combined with AbortSignal.any().
//
// Node's AbortSignal.timeout() is held only weakly by its own timer, and AbortSignal.any() holds its sources weakly
// too, so `AbortSignal.any([signal, AbortSignal.timeout(ms)])` loses the timeout whenever a collection runs before
// it fires (nodejs/node#57736; on Node 20.20 none of 50 such timeouts fired after one gc()). A wait bounded that way
// waits forever under memory pressure: a reconcile held its worker and never wrote its status. Here the timer holds
// the controller strongly until it fires; it is unref'd, so it keeps no process alive.

/** Like AbortSignal.timeout(ms) (a TimeoutError reason), but safe to pass to AbortSignal.any(). */
export function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException(`the operation timed out after ${ms} ms`, "TimeoutError")), ms).unref();
  return controller.signal;
}

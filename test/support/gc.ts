// Garbage collections on demand, for tests of what must survive one: a timeout that a collection lost once turned the
// apply controller's bounded waits into endless ones (src/runtime/timeout.ts), and only the full suite's memory
// pressure showed it.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
/** A full garbage collection, now. */
export const collectGarbage = runInNewContext("gc") as () => void;

/** Collects every `ms` until the returned function is called (the timer keeps no process alive). */
export function collectEvery(ms: number): () => void {
  const timer = setInterval(collectGarbage, ms);
  timer.unref();
  return () => clearInterval(timer);
}

// fast-check settings shared by the property-based tests: a fixed number of runs in `make unit` (fast, and every
// failure prints the seed and the shrunk counterexample), more with FC_RUNS=<n>, a failing run repeated with
// FC_SEED=<seed> (and FC_PATH=<path> from the failure report, to replay the shrunk case directly).
import type { Parameters } from "fast-check";

export function fcParams<T>(runs = 200): Parameters<T> {
  const seed = process.env.FC_SEED;
  const path = process.env.FC_PATH;
  return {
    numRuns: Number(process.env.FC_RUNS ?? runs),
    ...(seed !== undefined && seed !== "" ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
  };
}

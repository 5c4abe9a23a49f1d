// A seeded random source for fault tests: every random choice (where to kill, what to commit, how long to wait)
// comes from it, and the seed is printed first, so a failing run is repeated exactly with MOORING_FAULT_SEED=<seed>.

/** mulberry32: small, fast, and the same sequence on every machine for a given 32-bit seed. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A random subset (each item kept with probability p), in the original order. */
  subset<T>(items: readonly T[], p = 0.5): T[] {
    return items.filter(() => this.bool(p));
  }

  /** A child generator, so one part of a test drawing more numbers does not shift another part's sequence. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 2 ** 32));
  }
}

/**
 * The seed of this run: MOORING_FAULT_SEED when set (to repeat a run), else a fresh one. Printed with the name of
 * the test file, so the output of a failed CI run says how to repeat it.
 */
export function faultSeed(what: string): Rng {
  const fromEnv = process.env.MOORING_FAULT_SEED;
  const seed = fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`# ${what}: seed ${seed} (repeat with MOORING_FAULT_SEED=${seed})`);
  return new Rng(seed);
}

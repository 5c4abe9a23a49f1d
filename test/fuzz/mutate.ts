// Mutations in the style of jsfuzz/libFuzzer's: bit and byte flips, interesting integers, inserted, removed,
// duplicated and moved ranges, dictionary tokens, and splices with another corpus entry. A seeded Rng drives them,
// so a run is repeatable from its seed.
import type { Rng } from "../support/fault-rng.js";

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

export function mutate(input: Buffer, r: Rng, corpus: readonly Buffer[], dictionary: readonly string[] = [], maxLen = 64 * 1024): Buffer {
  let b: Buffer = Buffer.from(input);
  const rounds = 1 + Math.floor(Math.pow(r.next(), 2) * 8);
  for (let i = 0; i < rounds; i++) b = mutateOnce(b, r, corpus, dictionary);
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

function mutateOnce(b: Buffer, r: Rng, corpus: readonly Buffer[], dictionary: readonly string[]): Buffer {
  const pos = () => (b.length ? r.int(0, b.length - 1) : 0);
  switch (r.int(0, 11)) {
    case 0: {
      if (!b.length) return Buffer.from([r.int(0, 255)]);
      const out = Buffer.from(b);
      const p = pos();
      out[p] = out[p]! ^ (1 << r.int(0, 7));
      return out;
    }
    case 1: {
      if (!b.length) return b;
      const out = Buffer.from(b);
      out[pos()] = r.int(0, 255);
      return out;
    }
    case 2: {
      // An interesting integer, 1/2/4 bytes, either endianness.
      if (b.length < 4) return b;
      const out = Buffer.from(b);
      const v = r.pick(INTERESTING);
      const p = r.int(0, b.length - 4);
      if (r.bool()) out.writeUInt32BE(v >>> 0, p);
      else out.writeUInt16LE(v & 0xffff, p);
      return out;
    }
    case 3: {
      // Remove a range.
      if (b.length < 2) return b;
      const p = pos();
      const n = r.int(1, Math.min(64, b.length - p));
      return Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
    }
    case 4: {
      // Insert random bytes.
      const n = r.int(1, 16);
      const ins = Buffer.alloc(n);
      for (let i = 0; i < n; i++) ins[i] = r.int(0, 255);
      const p = pos();
      return Buffer.concat([b.subarray(0, p), ins, b.subarray(p)]);
    }
    case 5:
    case 6: {
      // A dictionary token, inserted or overwriting.
      if (!dictionary.length) return b;
      const tok = Buffer.from(r.pick(dictionary), "utf8");
      const p = pos();
      return r.bool() ? Buffer.concat([b.subarray(0, p), tok, b.subarray(p)]) : Buffer.concat([b.subarray(0, p), tok, b.subarray(Math.min(b.length, p + tok.length))]);
    }
    case 7: {
      // Duplicate a range (repetition makes nesting and aliases deeper).
      if (!b.length) return b;
      const p = pos();
      const n = r.int(1, Math.min(256, b.length - p));
      const times = r.int(1, 8);
      return Buffer.concat([b.subarray(0, p + n), ...Array.from({ length: times }, () => b.subarray(p, p + n)), b.subarray(p + n)]);
    }
    case 8: {
      // Move a range elsewhere.
      if (b.length < 4) return b;
      const p = pos();
      const n = r.int(1, Math.min(64, b.length - p));
      const chunk = b.subarray(p, p + n);
      const rest = Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
      const q = r.int(0, rest.length);
      return Buffer.concat([rest.subarray(0, q), chunk, rest.subarray(q)]);
    }
    case 9: {
      // Splice with another corpus entry.
      if (!corpus.length) return b;
      const other = r.pick(corpus);
      const p = pos();
      const q = other.length ? r.int(0, other.length - 1) : 0;
      return Buffer.concat([b.subarray(0, p), other.subarray(q)]);
    }
    case 10: {
      // Truncate.
      return b.subarray(0, pos());
    }
    default: {
      // A line duplicated or removed (text formats are line-oriented).
      const text = b.toString("latin1");
      const lines = text.split("\n");
      if (lines.length < 2) return b;
      const i = r.int(0, lines.length - 1);
      if (r.bool()) lines.splice(i, 0, lines[r.int(0, lines.length - 1)]!);
      else lines.splice(i, 1);
      return Buffer.from(lines.join("\n"), "latin1");
    }
  }
}

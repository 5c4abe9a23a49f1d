// Byte sizes as Kubernetes writes them, for messages that name a limit the way its flag or Helm value is written.

const STEPS: readonly [string, number][] = [
  ["Gi", 1024 ** 3],
  ["Mi", 1024 ** 2],
  ["Ki", 1024],
];

/** `536870912` → "512Mi", `1536` → "1.5Ki", `100` → "100 bytes": the largest binary unit, one decimal when not whole. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of STEPS) {
    if (bytes >= size) {
      const n = bytes / size;
      return `${Number.isInteger(n) ? n : Math.floor(n * 10) / 10}${unit}`;
    }
  }
  return `${bytes} bytes`;
}

// Plain-text output for the CLI: kubectl-style tables, revisions short enough for a terminal, ANSI colour.
import { stringify } from "yaml";

/** Columns separated by three spaces, headers in capitals, no trailing spaces (like kubectl get). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** "main@sha1:0123456789abcdef…" → "main@sha1:0123456789ab": a revision short enough for a table. */
export function shortRevision(rev: string | undefined): string {
  if (!rev) return "";
  return rev.replace(/(sha1|sha256):([0-9a-f]{12})[0-9a-f]+/g, "$1:$2");
}

/** One line: newlines and runs of spaces folded, for table cells. */
export function oneLine(s: string | undefined): string {
  return (s ?? "").replace(/\s+/g, " ").trim();
}

export function toYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof ANSI;

export function paint(on: boolean, colour: Colour, text: string): string {
  return on ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text;
}

/** Colours a unified diff: headers bold, hunks cyan, removals red, additions green. */
export function colourDiff(patch: string, on: boolean): string {
  if (!on) return patch;
  return patch
    .split("\n")
    .map((l) => {
      if (l.startsWith("---") || l.startsWith("+++")) return paint(true, "bold", l);
      if (l.startsWith("@@")) return paint(true, "cyan", l);
      if (l.startsWith("+")) return paint(true, "green", l);
      if (l.startsWith("-")) return paint(true, "red", l);
      return l;
    })
    .join("\n");
}

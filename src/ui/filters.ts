// The Applications page's filters, apart from the page so that they are tested without a browser.
import type { AppSummary } from "./model.js";

export interface Filters {
  q: string;
  ns: string;
  label: string;
  sync: string;
  health: string;
}

export function filtersFrom(params: URLSearchParams): Filters {
  return { q: params.get("q") ?? "", ns: params.get("ns") ?? "", label: params.get("label") ?? "", sync: params.get("sync") ?? "", health: params.get("health") ?? "" };
}

/** "team=a,tier!=db,canary": every term must hold (equality, inequality, existence). */
export function labelMatches(labels: Record<string, string>, selector: string): boolean {
  for (const term of selector.split(",").map((t) => t.trim()).filter(Boolean)) {
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (ne) {
      if (labels[ne[1]!.trim()] === ne[2]!.trim()) return false;
    } else if (eq) {
      if (labels[eq[1]!.trim()] !== eq[2]!.trim()) return false;
    } else if (!(term.replace(/^!/, "") in labels) !== term.startsWith("!")) return false;
  }
  return true;
}

export function matches(a: AppSummary, f: Filters): boolean {
  if (f.ns && a.namespace !== f.ns) return false;
  if (f.sync && a.sync !== f.sync) return false;
  if (f.health && a.health !== f.health) return false;
  if (f.label && !labelMatches(a.labels, f.label)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hay = `${a.namespace}/${a.name} ${a.message} ${a.revision} ${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(" ")}`.toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

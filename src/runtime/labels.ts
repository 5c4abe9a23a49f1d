// Label selectors on the client side (cache reads, predicates), with the API server's string syntax:
// "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", joined by commas.
import { splitOutside } from "../split.js";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

/** The structured form used in Kubernetes objects (metav1.LabelSelector). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export class LabelSelector {
  private constructor(readonly requirements: Requirement[]) {}

  /** Parses the string syntax; throws with the offending part on a syntax error. */
  static parse(selector: string): LabelSelector {
    const reqs: Requirement[] = [];
    // Split on commas that are not inside parentheses.
    for (const raw of splitOutside(selector, ",", "(", ")")) {
      const p = raw.trim();
      if (!p) continue;
      let m: RegExpMatchArray | null;
      if ((m = p.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
        reqs.push({ key: m[1]!, op: m[2] as "in" | "notin", values: m[3]!.split(",").map((v) => v.trim()).filter(Boolean) });
      } else if ((m = p.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
        reqs.push({ key: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! });
      } else if ((m = p.match(/^!\s*([\w./-]+)$/))) {
        reqs.push({ key: m[1]!, op: "!exists" });
      } else if ((m = p.match(/^([\w./-]+)$/))) {
        reqs.push({ key: m[1]!, op: "exists" });
      } else {
        throw new Error(`invalid label selector "${selector}": cannot parse "${p}" (expected key=value, key!=value, key in (a,b), key notin (a), key or !key)`);
      }
    }
    return new LabelSelector(reqs);
  }

  static fromObject(o: LabelSelectorObject): LabelSelector {
    const reqs: Requirement[] = Object.entries(o.matchLabels ?? {}).map(([key, value]) => ({ key, op: "=" as const, value }));
    for (const e of o.matchExpressions ?? []) {
      if (e.operator === "In") reqs.push({ key: e.key, op: "in", values: e.values ?? [] });
      else if (e.operator === "NotIn") reqs.push({ key: e.key, op: "notin", values: e.values ?? [] });
      else if (e.operator === "Exists") reqs.push({ key: e.key, op: "exists" });
      else reqs.push({ key: e.key, op: "!exists" });
    }
    return new LabelSelector(reqs);
  }

  matches(labels: Record<string, string> | undefined): boolean {
    const l = labels ?? {};
    return this.requirements.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(l, r.key);
      switch (r.op) {
        case "=":
          return has && l[r.key] === r.value;
        case "!=":
          return !has || l[r.key] !== r.value;
        case "in":
          return has && r.values.includes(l[r.key]!);
        case "notin":
          return !has || !r.values.includes(l[r.key]!);
        case "exists":
          return has;
        case "!exists":
          return !has;
      }
    });
  }

  toString(): string {
    return this.requirements
      .map((r) => {
        switch (r.op) {
          case "=":
          case "!=":
            return `${r.key}${r.op}${r.value}`;
          case "in":
          case "notin":
            return `${r.key} ${r.op} (${r.values.join(",")})`;
          case "exists":
            return r.key;
          case "!exists":
            return `!${r.key}`;
        }
      })
      .join(",");
  }
}

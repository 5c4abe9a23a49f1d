// Kustomize's content-hash name suffix, reproduced byte for byte: Go's json.Marshal (sorted keys, HTML-escaped)
// of {kind, name, data[, binaryData]} for ConfigMaps and {kind, type, name, data[, stringData]} for Secrets,
// sha256, the first 10 hex digits with 0,1,3,a,e mapped to g,h,k,m,t (no vowels, no look-alikes). Kustomize
// looks the name up with a path that never matches, so `name` is always "" — we match that, since equality with
// `kubectl kustomize` is the contract.
import { createHash } from "node:crypto";
import { isMap, type JsonMap, type ScopeResolver } from "../objects.js";
import { storePreviousId, type Res } from "./resource.js";

export function kustomizeHash(obj: JsonMap): string {
  const kind = obj.kind;
  const field = (k: string): unknown => (obj[k] === undefined || obj[k] === null ? "" : obj[k]);
  let m: JsonMap;
  if (kind === "ConfigMap") {
    m = { kind: "ConfigMap", name: "", data: field("data") };
    if (isMap(obj.binaryData)) m.binaryData = obj.binaryData;
  } else if (kind === "Secret") {
    m = { kind: "Secret", type: field("type"), name: "", data: field("data") };
    if (isMap(obj.stringData)) m.stringData = obj.stringData;
  } else {
    m = obj;
  }
  return encodeHash(createHash("sha256").update(goJson(m)).digest("hex"));
}

function encodeHash(hex: string): string {
  const map: Record<string, string> = { "0": "g", "1": "h", "3": "k", a: "m", e: "t" };
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => map[c]!);
}

/** JSON like Go's encoding/json: map keys sorted byte-wise, <, >, &, U+2028 and U+2029 escaped. */
export function goJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (isMap(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    return `{${keys.map((k) => `${goString(k)}:${goJson(v[k])}`).join(",")}}`;
  }
  if (typeof v === "string") return goString(v);
  return JSON.stringify(v ?? null);
}

function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The content hash appended to the name of each resource that wants one (the name before it kept as a previous id). */
export function appendNameHashes(res: Res[], scope?: ScopeResolver): void {
  for (const r of res) {
    if (!r.needsHash) continue;
    const h = kustomizeHash(r.obj);
    storePreviousId(r, scope);
    r.obj.metadata.name = `${r.obj.metadata.name}-${h}`;
  }
}

// The render controller's inputs step: an Application's valuesFrom / substituteFrom read from the cluster.
// ConfigMaps come from the cache. Secrets are read live with get at each reconcile, or (--watch-secrets) watched
// without their data (a digest stands in, src/runtime/secret-view.ts) and read live only when that digest changed.
import { ApplicationDefaults, type Application } from "../api/index.js";
import { Kinds, type KubeObject, type Manager } from "../runtime/index.js";
import { SECRETS_WITHOUT_DATA, secretDataDigest } from "../runtime/secret-view.js";
import type { ResolvedInputs } from "./application.js";
import { parseValues } from "./helm.js";
import type { JsonMap } from "./objects.js";
import { InputError } from "./outcome.js";
import type { SecretMask } from "./redact.js";

type ApplicationObject = Application & KubeObject;
type DataObject = KubeObject & { data?: Record<string, string> };

export class InputReader {
  // Values of the Secrets Applications read, by the data digest they were read at (only these are held).
  private readonly secretValues = new Map<string, { digest: string; data: Record<string, string> }>();

  constructor(
    private readonly mgr: Manager,
    private readonly watchSecrets: boolean,
  ) {}

  /**
   * The values documents and substitution variables `app` names. A missing object or key that is not optional is
   * an InputError naming it, the spec field and what to do; a values document that does not parse, a RenderError.
   * The strings of every Secret read go into `mask` (./redact.ts), even when a later step fails.
   */
  async resolve(app: ApplicationObject, mask?: SecretMask): Promise<ResolvedInputs> {
    const ns = app.metadata!.namespace!;
    const r = app.spec.render ?? {};
    const out: ResolvedInputs = {};
    if (r.helm?.valuesFrom?.length) {
      const values: JsonMap[] = [];
      for (const [i, ref] of r.helm.valuesFrom.entries()) {
        const key = ref.key ?? ApplicationDefaults.valuesKey;
        const data = await this.read(ref.kind, ref.name, ns);
        if (data && ref.kind === "Secret") mask?.add(data);
        const where = `spec.render.helm.valuesFrom[${i}]`;
        if (!data) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (${where}) does not exist; create it or set optional: true`);
        }
        const text = data[key];
        if (text === undefined) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (${where}) has no key "${key}"; add it or set key to one of: ${Object.keys(data).join(", ") || "(none)"}`);
        }
        const parsed = parseValues(text, `${ref.kind}/${ref.name}[${key}]`);
        if (ref.kind === "Secret") mask?.addValues(parsed);
        values.push(parsed);
      }
      out.valuesFrom = values;
    }
    if (r.substituteFrom?.length) {
      const vars: Record<string, string> = {};
      for (const [i, ref] of r.substituteFrom.entries()) {
        const data = await this.read(ref.kind, ref.name, ns);
        if (data && ref.kind === "Secret") mask?.add(data);
        if (!data) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (spec.render.substituteFrom[${i}]) does not exist; create it or set optional: true`);
        }
        Object.assign(vars, data);
      }
      out.substituteFrom = vars;
    }
    return out;
  }

  /** The data of a ConfigMap or Secret (Secrets decoded); undefined when it does not exist. */
  private async read(kind: "ConfigMap" | "Secret", name: string, ns: string): Promise<Record<string, string> | undefined> {
    const client = this.mgr.client;
    if (kind === "ConfigMap") {
      const cm = await client.get<DataObject>(Kinds.ConfigMap, name, ns);
      return cm ? (cm.data ?? {}) : undefined;
    }
    const k = `${ns}/${name}`;
    if (!this.watchSecrets) {
      // No watch (and so no list/watch right on Secrets): read the Secret itself, each reconcile. Its value is held
      // only for the render; a change is picked up at the Application's next interval (or `mooring reconcile`).
      const live = await client.live().get<DataObject>(Kinds.Secret, name, ns);
      return live ? decoded(live) : undefined;
    }
    const view = this.mgr.cache.informerFor(Kinds.Secret, SECRETS_WITHOUT_DATA);
    if (!view.hasSynced()) await view.waitForSync();
    const seen = view.store.get(k) as (KubeObject & { dataDigest?: string }) | undefined;
    if (!seen) {
      this.secretValues.delete(k);
      return undefined;
    }
    const held = this.secretValues.get(k);
    if (held && held.digest === seen.dataDigest) return held.data; // unchanged: no request
    const live = await client.live().get<DataObject>(Kinds.Secret, name, ns);
    if (!live) return undefined;
    const data = decoded(live);
    this.secretValues.set(k, { digest: secretDataDigest(live.data), data });
    return data;
  }
}

function decoded(secret: DataObject): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, v]) => [key, Buffer.from(v, "base64").toString("utf8")]));
}

// Application (delivery.mooring.dev/v1alpha1): a path in a source, rendered (plain YAML, Kustomize or Helm)
// and kept applied to the cluster under a SyncPolicy.
import { type Static } from "@sinclair/typebox";
import {
  Bool, CONFIG_KEY, Conditions, DNS1123_LABEL, DnsLabel, DnsName, Duration, FreeForm, INVENTORY_ID, Int, JSON_POINTER,
  LastHandledReconcileAt, List, Obj, ObservedGeneration, Optional, SHA256_DIGEST, SUBSTITUTE_VARIABLE, Str, StrEnum,
  StringMap, Time, cel, rootFields,
} from "./schema.js";
import { API_VERSION, DELIVERY_GROUP, HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "./constants.js";
import { CommitMetadata } from "./gitrepository.js";
import { HealthCheckExprs } from "./health-rules.js";

export const APPLICATION_API_VERSION = `${DELIVERY_GROUP}/${API_VERSION}` as const;

export const RENDER_TYPES = ["auto", "plain", "kustomize", "helm"] as const;
export type RenderType = (typeof RENDER_TYPES)[number];
export const HELM_ENGINES = ["auto", "go", "handlebars"] as const;
export type HelmEngine = (typeof HELM_ENGINES)[number];
export const SYNC_STATUSES = ["Synced", "OutOfSync", "Unknown"] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];
export const HISTORY_TRIGGERS = ["automated", "manual", "self-heal", "rollback"] as const;
export type HistoryTrigger = (typeof HISTORY_TRIGGERS)[number];
export const ROLLBACK_UNTIL = ["resume", "newRevision"] as const;
export type RollbackUntil = (typeof ROLLBACK_UNTIL)[number];
export const HEALTH_STATUSES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** Documented defaults (docs/api.md); a unit test checks the schema applies exactly these. */
export const ApplicationDefaults = {
  path: "./",
  renderType: "auto" as RenderType,
  valuesKey: "values.yaml",
  interval: "5m",
  timeout: "5m",
  suspend: false,
} as const;

const ValuesReference = Obj(
  {
    kind: StrEnum(["ConfigMap", "Secret"] as const, "Kind of the object holding the values: ConfigMap or Secret."),
    name: DnsName("Name of the ConfigMap or Secret, in the Application's namespace."),
    key: Optional(Str("Key in the object's data whose value is a YAML document of Helm values.", 253, { default: ApplicationDefaults.valuesKey, pattern: CONFIG_KEY })),
    optional: Optional(Bool("Render without these values when the object or the key does not exist, instead of failing.", false)),
  },
  "Helm values read from a ConfigMap or Secret in the Application's namespace.",
);

const HelmRender = Obj(
  {
    releaseName: Optional(
      Str("Helm release name, used by the chart's templates (.Release.Name). Defaults to the Application's name.", 53, { minLength: 1, pattern: DNS1123_LABEL }),
    ),
    values: Optional(FreeForm("Helm values, merged last (over valuesFiles and valuesFrom).")),
    valuesFiles: Optional(
      List(Str("A path to a values file, relative to spec.path.", 1024, { minLength: 1 }), "Values files in the source, relative to spec.path, merged in order after the chart's values.yaml.", 32),
    ),
    valuesFrom: Optional(List(ValuesReference, "Values from ConfigMaps and Secrets, merged in order after valuesFiles and before values.", 32)),
    engine: Optional(
      StrEnum(
        HELM_ENGINES,
        "Template engine of the chart. go: a Helm v3 chart (Go templates, Sprig and Helm functions), rendered by Helm itself as helm template does. handlebars: one of Mooring's own Handlebars charts. auto (the default): handlebars when Chart.yaml has no apiVersion, or when the chart's templates use Handlebars syntax and no Go-template syntax; otherwise go.",
      ),
    ),
    kubeVersion: Optional(
      Str("Kubernetes version the chart sees in .Capabilities.KubeVersion (Go-template charts), such as v1.31.2. Defaults to the target cluster's version when the render controller knows it, else v1.36.3.", 64, {
        pattern: "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?([-+][0-9A-Za-z.+-]*)?$",
      }),
    ),
    apiVersions: Optional(
      List(
        Str("An API version, group/version or group/version/Kind (monitoring.coreos.com/v1, or monitoring.coreos.com/v1/ServiceMonitor).", 253, { minLength: 1, pattern: "^[A-Za-z0-9.-]+(/[A-Za-z0-9.-]+){0,2}$" }),
        "API versions the chart sees in .Capabilities.APIVersions besides Helm's built-in list (Go-template charts), for charts that render ServiceMonitors and the like only when their API exists.",
        512,
      ),
    ),
    skipCrds: Optional(Bool("Leave out the CustomResourceDefinitions in the chart's crds/ directory (Go-template charts); by default they are rendered, as helm install creates them.")),
  },
  "Helm options, for a chart at spec.path (a directory with Chart.yaml).",
);

const KustomizeImage = Obj(
  {
    name: Str("The image name to replace, as written in the manifests (without tag).", 512, { minLength: 1 }),
    newName: Optional(Str("The image name to use instead.", 512, { minLength: 1 })),
    newTag: Optional(Str("The tag to use instead.", 128, { minLength: 1 })),
    digest: Optional(Str("A digest to pin the image to (sha256:...); used instead of the tag.", 71, { pattern: SHA256_DIGEST })),
  },
  "An image override, as in a kustomization's images field.",
  {
    "x-kubernetes-validations": [
      cel(
        "has(self.newName) || has(self.newTag) || has(self.digest)",
        "each image override must set at least one of newName, newTag or digest",
        (self: Record<string, unknown>) => self.newName !== undefined || self.newTag !== undefined || self.digest !== undefined,
      ),
    ],
  },
);

const PatchTarget = Obj(
  {
    group: Optional(Str("API group of the objects to patch.", 253)),
    version: Optional(Str("API version of the objects to patch.", 63)),
    kind: Optional(Str("Kind of the objects to patch.", 63)),
    name: Optional(Str("Name (a regular expression) of the objects to patch.", 253)),
    namespace: Optional(Str("Namespace (a regular expression) of the objects to patch.", 63)),
    labelSelector: Optional(Str("Label selector of the objects to patch.", 1024)),
    annotationSelector: Optional(Str("Annotation selector of the objects to patch.", 1024)),
  },
  "Which objects a patch applies to; without a target, the patch names its object itself.",
);

const KustomizePatch = Obj(
  {
    patch: Str("A strategic merge patch or a JSON 6902 patch, in YAML.", 65536, { minLength: 1 }),
    target: Optional(PatchTarget),
  },
  "A patch applied by Kustomize after the kustomization's own patches.",
);

const KustomizeRender = Obj(
  {
    namePrefix: Optional(Str("Prefix added to the name of every rendered object.", 63, { pattern: "^[a-z0-9.-]*$" })),
    nameSuffix: Optional(Str("Suffix added to the name of every rendered object.", 63, { pattern: "^[a-z0-9.-]*$" })),
    images: Optional(List(KustomizeImage, "Image overrides.", 64)),
    patches: Optional(List(KustomizePatch, "Patches applied to the rendered objects.", 64)),
  },
  "Kustomize options, applied on top of the kustomization at spec.path (or of a generated one when there is none).",
);

const SubstituteReference = Obj(
  {
    kind: StrEnum(["ConfigMap", "Secret"] as const, "Kind of the object holding variables: ConfigMap or Secret."),
    name: DnsName("Name of the ConfigMap or Secret, in the Application's namespace."),
    optional: Optional(Bool("Carry on without these variables when the object does not exist, instead of failing.", false)),
  },
  "Variables for substitution, read from every key of a ConfigMap or Secret.",
);

const Render = Obj(
  {
    type: Optional(StrEnum(
      RENDER_TYPES,
      "How to turn spec.path into objects. auto: kustomize when the path has a kustomization.yaml, helm when it has a Chart.yaml, else plain. plain: every *.yaml, *.yml and *.json file under the path.",
      { default: ApplicationDefaults.renderType },
    )),
    helm: Optional(HelmRender),
    kustomize: Optional(KustomizeRender),
    substitute: Optional(
      StringMap("Variables substituted for ${name} in the rendered objects (after rendering); they win over substituteFrom.", {
        maxProperties: 256,
        "x-kubernetes-validations": [
          cel(
            `self.all(k, k.matches('${SUBSTITUTE_VARIABLE}'))`,
            "substitute keys must be variable names: letters, digits and '_', not starting with a digit",
            (self: Record<string, string>) => Object.keys(self).every((k) => new RegExp(SUBSTITUTE_VARIABLE).test(k)),
          ),
        ],
      }),
    ),
    substituteFrom: Optional(List(SubstituteReference, "ConfigMaps and Secrets whose keys are substituted for ${key}; later entries win.", 32)),
  },
  "How the source is rendered into Kubernetes objects.",
  {
    default: {},
    "x-kubernetes-validations": [
      cel("!has(self.helm) || self.type in ['auto', 'helm']", "render.helm can only be set when render.type is helm or auto", (self: { type?: string; helm?: unknown }) =>
        self.helm === undefined || self.type === undefined || self.type === "auto" || self.type === "helm",
      ),
      cel("!has(self.kustomize) || self.type in ['auto', 'kustomize']", "render.kustomize can only be set when render.type is kustomize or auto", (self: { type?: string; kustomize?: unknown }) =>
        self.kustomize === undefined || self.type === undefined || self.type === "auto" || self.type === "kustomize",
      ),
    ],
  },
);

const SourceReference = Obj(
  {
    kind: StrEnum(["GitRepository", "HelmChart"] as const, "Kind of the source (source.mooring.dev): GitRepository, or HelmChart (a chart from a Helm repository; spec.path is then relative to the chart's directory)."),
    name: DnsName("Name of the source."),
    namespace: Optional(DnsLabel("Namespace of the source; defaults to the Application's namespace.")),
  },
  "The source whose artifact the Application renders.",
);

/** Where an Application's kubeconfig is read from (Flux's spec.kubeConfig shape; docs/clusters.md). */
export const KUBECONFIG_KEYS = ["value", "value.yaml"] as const;

const KubeConfigReference = Obj(
  {
    secretRef: Obj(
      {
        name: DnsName("Name of a Secret in the Application's namespace holding a kubeconfig."),
        key: Optional(Str(`Key of the Secret's data holding the kubeconfig; when empty, '${KUBECONFIG_KEYS[0]}', then '${KUBECONFIG_KEYS[1]}' (what Cluster API writes).`, 253, { pattern: CONFIG_KEY })),
      },
      "The Secret holding the kubeconfig. Its certificates and tokens must be inline: file paths, exec plugins and auth-providers are refused.",
    ),
  },
  "Apply to another cluster: the kubeconfig of its API server, from a Secret in the Application's namespace. Without it the Application targets the cluster the operator runs in.",
);

const ObjectReference = (what: string) =>
  Obj(
    {
      name: DnsName(`Name of the ${what}.`),
      namespace: Optional(DnsLabel(`Namespace of the ${what}; defaults to the Application's namespace.`)),
    },
    `A reference to a ${what}.`,
  );

const HealthCheck = Obj(
  {
    apiVersion: Str("API version of the object, such as apps/v1.", 253, { minLength: 1 }),
    kind: Str("Kind of the object, such as Deployment.", 63, { minLength: 1 }),
    name: DnsName("Name of the object."),
    namespace: Optional(DnsLabel("Namespace of the object; defaults to spec.targetNamespace, then the Application's namespace.")),
  },
  "An object whose health is waited for, in addition to the applied objects.",
);

const IgnoreDifference = Obj(
  {
    group: Optional(Str("API group of the objects (empty for the core group).", 253)),
    kind: Str("Kind of the objects.", 63, { minLength: 1 }),
    name: Optional(DnsName("Name of the object; all objects of the kind when empty.")),
    namespace: Optional(DnsLabel("Namespace of the object; all namespaces when empty.")),
    jsonPointers: List(Str("A JSON pointer (RFC 6901) to a field, such as /spec/replicas.", 1024, { pattern: JSON_POINTER }), "Fields whose drift is ignored.", 32, { minItems: 1 }),
  },
  "Fields other controllers own (an autoscaler's replicas, for example): drift in them is not reported and not corrected.",
);

export const ApplicationSpec = Obj(
  {
    sourceRef: SourceReference,
    path: Optional(Str("Directory in the source to render, relative to the repository root.", 1024, {
      default: ApplicationDefaults.path,
      "x-kubernetes-validations": [
        cel("!self.matches('(^|/)[.][.](/|$)')", "path must stay inside the source: '..' is not allowed", (self: string) => !/(^|\/)\.\.(\/|$)/.test(self)),
      ],
    })),
    render: Optional(Render),
    targetNamespace: Optional(DnsLabel("Namespace for rendered namespaced objects that do not set one; defaults to the Application's namespace.")),
    syncPolicyRef: Optional(
      Obj({ name: DnsName("Name of a SyncPolicy in the Application's namespace.") }, "The SyncPolicy that decides when and how to sync. Without one: automated sync with prune and self-heal."),
    ),
    dependsOn: Optional(List(ObjectReference("Application"), "Applications that must be Ready before this one is synced.", 64)),
    kubeConfig: Optional(KubeConfigReference),
    serviceAccountName: Optional(DnsName("ServiceAccount (in the Application's namespace) to impersonate when applying; defaults to the operator's --default-service-account (\"default\" unless the operator opted out of it). With spec.kubeConfig it is impersonated on the remote cluster, and only when set here: the default does not apply there.")),
    interval: Optional(Duration("How often to re-render and re-check for drift even when nothing changed.", { default: ApplicationDefaults.interval, min: "10s", field: "interval" })),
    timeout: Optional(Duration("How long to wait for the applied objects to become healthy.", { default: ApplicationDefaults.timeout, min: "1s", max: "24h", field: "timeout" })),
    suspend: Optional(Bool("Stop rendering and syncing; what is applied stays as it is.", ApplicationDefaults.suspend)),
    healthChecks: Optional(List(HealthCheck, "Extra objects to wait for before the Application is Healthy.", 64)),
    healthCheckExprs: Optional(HealthCheckExprs),
    ignoreDifferences: Optional(List(IgnoreDifference, "Fields to leave alone when comparing and applying.", 64)),
    historyLimit: Optional(
      Int(`How many sync attempts status.history keeps (default ${HISTORY_LIMIT}, at most ${MAX_HISTORY_LIMIT}); the rendered artifact of each is kept too, so any of them can be inspected and rolled back to (mooring history, mooring rollback).`, {
        minimum: 1,
        maximum: MAX_HISTORY_LIMIT,
      }),
    ),
  },
  "What to deploy (a path in a source), how to render it, and where and how to apply it.",
);
export type ApplicationSpec = Static<typeof ApplicationSpec>;

const RenderArtifact = Obj(
  {
    url: Str("Where the rendered manifests can be downloaded from, inside the cluster.", 2048),
    digest: Str("sha256 digest of the rendered manifests.", 71, { pattern: SHA256_DIGEST }),
    revision: Str("Source revision that was rendered.", 1024),
    size: Optional(Int("Size in bytes.", { minimum: 0 })),
    commit: Optional(CommitMetadata),
  },
  "The stored result of the last render.",
);

const InventoryEntry = Obj(
  {
    id: Str("Object id: <namespace>_<name>_<group>_<Kind> (namespace empty for cluster-scoped objects, group empty for the core group).", 1024, { pattern: INVENTORY_ID }),
    v: Str("API version the object was applied with.", 63),
  },
  "An object Mooring applied and will prune when it leaves the rendered set.",
);

const HistoryEntry = Obj(
  {
    revision: Str("Source revision synced.", 1024),
    digest: Optional(Str("Digest of the rendered manifests synced.", 71)),
    startedAt: Time("When the sync started."),
    finishedAt: Optional(Time("When the sync finished.")),
    phase: StrEnum(["Succeeded", "Failed", "Running"] as const, "Outcome of the sync; Running while it is applied (an entry left Running by a stopped controller is read as Failed, interrupted)."),
    message: Optional(Str("What happened, in words.", 32768)),
    initiatedBy: StrEnum(["auto", "manual"] as const, "auto: by the controller (a new render, self-heal, a retry); manual: asked for by a person (the delivery.mooring.dev/sync-requested-at annotation: mooring sync; the delivery.mooring.dev/rollback annotation: mooring rollback). trigger says which."),
    id: Optional(Int("Sequence number of the entry, one more than the entry before it: what mooring rollback --to names.", { minimum: 1 })),
    trigger: Optional(StrEnum(HISTORY_TRIGGERS, "What started the sync: automated (a new render), manual (mooring sync), self-heal (drift corrected), rollback (mooring rollback).")),
    commit: Optional(CommitMetadata),
    url: Optional(Str("Where the rendered manifests of this entry are kept, inside the cluster (while the entry is in the history).", 2048)),
    changes: Optional(
      Obj(
        {
          created: Int("Objects created.", { minimum: 0 }),
          configured: Int("Objects changed.", { minimum: 0 }),
          unchanged: Int("Objects applied with no change.", { minimum: 0 }),
          pruned: Int("Objects deleted because they left the render.", { minimum: 0 }),
          failed: Optional(Int("Objects that could not be applied or deleted.", { minimum: 0 })),
        },
        "How many objects the sync changed.",
      ),
    ),
  },
  "One sync attempt.",
);

const Rollback = Obj(
  {
    requestedAt: Str("The requestedAt of the delivery.mooring.dev/rollback annotation this answers.", 64),
    id: Optional(Int("The history entry rolled back to.", { minimum: 1 })),
    revision: Str("Source revision rolled back to.", 1024),
    digest: Str("Digest of the rendered manifests rolled back to.", 71),
    url: Optional(Str("Where those rendered manifests are kept.", 2048)),
    commit: Optional(CommitMetadata),
    until: StrEnum(ROLLBACK_UNTIL, "resume: automation is held until mooring resume (the annotation removed); newRevision: until the source has a revision other than heldRevision."),
    heldRevision: Optional(Str("The source revision when the rollback was done (for until: newRevision).", 1024)),
    phase: StrEnum(["Succeeded", "Failed", "Released"] as const, "Succeeded: rolled back, automation held; Failed: the rollback could not be done (message), automation held; Released: a new revision ended the hold (until: newRevision)."),
    message: Optional(Str("What happened, in words.", 32768)),
  },
  "A rollback (delivery.mooring.dev/rollback): what the Application was rolled back to, and why automation is held (field manager mooring-sync).",
);

export const ApplicationStatus = Obj(
  {
    observedGeneration: Optional(ObservedGeneration()),
    conditions: Optional(Conditions("Conditions: Ready, Reconciling, Stalled, SourceReady, Rendered, Synced, Healthy, RolledBack.")),
    source: Optional(
      Obj(
        {
          revision: Optional(Str("Revision of the source artifact last used.", 1024)),
          digest: Optional(Str("Digest of the source artifact last used.", 71)),
        },
        "The source artifact the last render used (field manager mooring-render).",
      ),
    ),
    render: Optional(
      Obj(
        {
          artifact: Optional(RenderArtifact),
          objects: Optional(Int("How many objects the last render produced.", { minimum: 0 })),
          engine: Optional(
            StrEnum(
              ["go", "handlebars"] as const,
              "For a helm render, the template engine that rendered the chart (spec.render.helm.engine as resolved; auto decided): go (a Helm v3 chart, rendered by helm template) or handlebars (one of Mooring's own charts). Absent for plain and Kustomize renders.",
            ),
          ),
          lastRenderedAt: Optional(Time("When the last render finished.")),
        },
        "The last render (field manager mooring-render).",
      ),
    ),
    sync: Optional(
      Obj(
        {
          status: Optional(StrEnum(SYNC_STATUSES, "Whether the cluster matches the last render: Synced, OutOfSync or Unknown.")),
          revision: Optional(Str("Revision last applied.", 1024)),
          lastAppliedAt: Optional(Time("When objects were last applied.")),
          inventory: Optional(List(InventoryEntry, "Every object the Application applied: what pruning trusts.", 100000)),
          drifted: Optional(
            List(Str("An inventory id.", 1024), "Inventory ids of objects whose live state differs from the render.", 100000, { "x-kubernetes-list-type": "set" }),
          ),
        },
        "The last sync (field manager mooring-sync).",
      ),
    ),
    health: Optional(
      Obj(
        {
          status: Optional(StrEnum(HEALTH_STATUSES, "Aggregated health of the applied objects.")),
          message: Optional(Str("Why, for anything but Healthy.", 32768)),
        },
        "Health of the applied objects (field manager mooring-sync).",
      ),
    ),
    history: Optional(List(HistoryEntry, `The last spec.historyLimit (default ${HISTORY_LIMIT}) sync attempts, newest first.`, MAX_HISTORY_LIMIT)),
    rollback: Optional(Rollback),
    lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
  },
  "What the controllers observed. status.source and status.render belong to the render controller (field manager mooring-render); everything else to the sync controller (mooring-sync). Each owns its own conditions.",
);
export type ApplicationStatus = Static<typeof ApplicationStatus>;

export const ApplicationSchema = Obj(
  {
    ...rootFields(APPLICATION_API_VERSION, "Application"),
    spec: ApplicationSpec,
    status: Optional(ApplicationStatus),
  },
  "Application is a path in a source, rendered (plain YAML, Kustomize or Helm) and kept applied to the cluster.",
);
export type Application = Static<typeof ApplicationSchema>;

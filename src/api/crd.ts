// CustomResourceDefinitions, generated from the TypeBox schemas. `make generate` (hack/generate.ts) writes
// them to crds/ and charts/mooring/crds/; a unit test fails when those files differ from what this module
// produces, so the YAML can never drift from the types.
import type { TSchema } from "@sinclair/typebox";
import { stringify } from "yaml";
import type { KindDescriptor } from "../runtime/kinds.js";
import { CATEGORY } from "./constants.js";
import { AlertKind, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, ProviderKind, SyncPolicyKind } from "./kinds.js";
import { HelmChartSchema, HelmRepositorySchema } from "./helm.js";
import { GitRepositorySchema } from "./gitrepository.js";
import { ApplicationSchema } from "./application.js";
import { SyncPolicySchema } from "./syncpolicy.js";
import { AlertSchema, ProviderSchema } from "./notification.js";
import { LOCAL_CHECKS_KEYWORD } from "./schema.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  descriptor: KindDescriptor;
  singular: string;
  shortNames: string[];
  schema: TSchema;
  printerColumns: PrinterColumn[];
  /** Fields usable in field selectors (`kubectl get --field-selector`), so controllers can list what references an object. */
  selectableFields?: string[];
}

/** A string column. */
const text = (name: string, jsonPath: string, description: string): PrinterColumn => ({ name, type: "string", jsonPath, description });
const ready = (name: string, field: "status" | "message" | "reason", description: string): PrinterColumn => text(name, `.status.conditions[?(@.type=="Ready")].${field}`, description);
/** The repository a source fetches from. */
const url = text("URL", ".spec.url", "Repository URL.");
const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since the object was created." };
/** The last columns of a kind with a Ready condition: Ready (meaning `readyMeans`), its message, and Age. */
const readyColumns = (readyMeans: string): PrinterColumn[] => [ready("Ready", "status", readyMeans), ready("Status", "message", "The Ready condition's message."), age];

export const KIND_DEFINITIONS: readonly KindDefinition[] = [
  {
    descriptor: GitRepositoryKind,
    singular: "gitrepository",
    shortNames: ["gitrepo"],
    schema: GitRepositorySchema,
    printerColumns: [
      url,
      text("Revision", ".status.artifact.revision", "Revision of the stored artifact."),
      ...readyColumns("Whether the latest revision is fetched and stored."),
    ],
  },
  {
    descriptor: ApplicationKind,
    singular: "application",
    shortNames: ["mapp"],
    schema: ApplicationSchema,
    printerColumns: [
      text("Revision", ".status.sync.revision", "Source revision last applied."),
      text("Synced", ".status.sync.status", "Synced, OutOfSync or Unknown."),
      text("Health", ".status.health.status", "Aggregated health of the applied objects."),
      ...readyColumns("Whether the last render is applied and healthy."),
    ],
    selectableFields: [".spec.sourceRef.name", ".spec.syncPolicyRef.name"],
  },
  {
    descriptor: SyncPolicyKind,
    singular: "syncpolicy",
    shortNames: ["syncpolicy"],
    schema: SyncPolicySchema,
    printerColumns: [
      { name: "Automated", type: "boolean", jsonPath: ".spec.automated.enabled", description: "Whether syncs are automated." },
      text("Window", `.status.conditions[?(@.type=="WindowOpen")].reason`, "Why automated syncs are allowed or blocked now."),
      { name: "Apps", type: "integer", jsonPath: ".status.applications", description: "How many Applications reference the policy.", priority: 1 },
      age,
    ],
  },
  {
    descriptor: HelmRepositoryKind,
    singular: "helmrepository",
    shortNames: ["helmrepo"],
    schema: HelmRepositorySchema,
    printerColumns: [
      url,
      ...readyColumns("Whether the index was read."),
    ],
  },
  {
    descriptor: HelmChartKind,
    singular: "helmchart",
    shortNames: ["hc"],
    schema: HelmChartSchema,
    printerColumns: [
      text("Chart", ".spec.chart", "Chart name."),
      text("Version", ".spec.version", "Semver range."),
      text("Revision", ".status.artifact.revision", "Chart version stored."),
      ...readyColumns("Whether the newest matching version is stored."),
    ],
  },
  {
    descriptor: ProviderKind,
    singular: "provider",
    shortNames: [],
    schema: ProviderSchema,
    printerColumns: [
      text("Type", ".spec.type", "Where notifications are sent: generic, generic-hmac, slack, msteams, discord, github, gitlab or gitea."),
      text("Delivered", `.status.conditions[?(@.type=="Delivered")].status`, "Whether the last delivery through this Provider succeeded."),
      ...readyColumns("Whether the Provider's Secret and address are usable."),
    ],
  },
  {
    descriptor: AlertKind,
    singular: "alert",
    shortNames: [],
    schema: AlertSchema,
    printerColumns: [
      text("Provider", ".spec.providerRef.name", "The Provider events are sent to."),
      text("Delivered", `.status.conditions[?(@.type=="Delivered")].status`, "Whether the last delivery succeeded."),
      ...readyColumns("Whether the Provider exists and is ready."),
    ],
  },
];

export function kindDefinition(descriptor: KindDescriptor): KindDefinition {
  const def = KIND_DEFINITIONS.find((d) => d.descriptor.group === descriptor.group && d.descriptor.kind === descriptor.kind);
  if (!def) throw new Error(`${descriptor.kind}.${descriptor.group} is not a Mooring kind; the kinds are ${KIND_DEFINITIONS.map((d) => d.descriptor.kind).join(", ")}`);
  return def;
}

// Keys in the order a reader scans a schema: what it is, then constraints, then children.
const KEY_ORDER = [
  "description", "type", "format", "enum", "default", "pattern", "minLength", "maxLength", "minimum", "maximum",
  "minItems", "maxItems", "minProperties", "maxProperties", "required", "properties", "additionalProperties", "items",
];
const CEL_RULE_KEYS = ["rule", "message", "messageExpression", "fieldPath", "reason", "optionalOldSelf"];

/**
 * The structural-schema form of a TypeBox schema: drops what CRDs forbid or do not need (TypeBox's symbol keys,
 * `additionalProperties: false`, which structural schemas reject and pruning makes redundant, and Mooring's
 * in-process-only keywords), keeps CEL rules without their TypeScript twins, and orders keys for readability.
 */
export function toStructural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== "object") return schema;
  const src = schema as Record<string, unknown>;
  const keys = Object.keys(src)
    .filter((k) => !(k === "additionalProperties" && src[k] === false) && k !== LOCAL_CHECKS_KEYWORD && k !== "$id" && k !== "title")
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = src[k];
    if (k === "properties") {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([name, s]) => [name, toStructural(s)]));
    } else if (k === "x-kubernetes-validations") {
      out[k] = (v as Record<string, unknown>[]).map((r) => Object.fromEntries(CEL_RULE_KEYS.filter((rk) => r[rk] !== undefined).map((rk) => [rk, r[rk]])));
    } else if (k === "default" || k === "enum") {
      out[k] = structuredClone(v);
    } else {
      out[k] = toStructural(v);
    }
  }
  return out;
}

function rank(key: string): number {
  const i = KEY_ORDER.indexOf(key);
  if (i >= 0) return i;
  return key.startsWith("x-kubernetes-") ? KEY_ORDER.length : KEY_ORDER.length + 1;
}

/** The CustomResourceDefinition object for one kind. */
export function crdFor(def: KindDefinition): Record<string, unknown> {
  const { descriptor: d } = def;
  const version: Record<string, unknown> = {
    name: d.version,
    served: true,
    storage: true,
    subresources: { status: {} },
    additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
  };
  if (def.selectableFields?.length) version.selectableFields = def.selectableFields.map((jsonPath) => ({ jsonPath }));
  const root = toStructural(def.schema) as { required?: string[] };
  // The API server fills apiVersion, kind and metadata itself; only the TypeScript type needs them required.
  root.required = root.required?.filter((k) => !["apiVersion", "kind", "metadata"].includes(k));
  if (!root.required?.length) delete root.required;
  version.schema = { openAPIV3Schema: root };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${d.plural}.${d.group}`,
      labels: { "app.kubernetes.io/name": "mooring", "app.kubernetes.io/part-of": "mooring" },
    },
    spec: {
      group: d.group,
      names: { kind: d.kind, listKind: `${d.kind}List`, plural: d.plural, singular: def.singular, ...(def.shortNames.length ? { shortNames: def.shortNames } : {}), categories: [CATEGORY] },
      scope: d.namespaced ? "Namespaced" : "Cluster",
      versions: [version],
    },
  };
}

/** Every CRD, in documentation order. */
export function allCrds(): Record<string, unknown>[] {
  return KIND_DEFINITIONS.map(crdFor);
}

/** Directories (relative to the repository root) that hold the generated CRDs. */
export const CRD_DIRS = ["crds", "charts/mooring/crds"] as const;

const HEADER = "# Generated by hack/generate.ts from the schemas in src/api (make generate). Do not edit.\n";

/** File name of a kind's CRD: <group>_<plural>.yaml. */
export function crdFileName(def: KindDefinition): string {
  return `${def.descriptor.group}_${def.descriptor.plural}.yaml`;
}

/** The YAML text of one CRD, byte for byte what `make generate` writes. */
export function crdYaml(def: KindDefinition): string {
  return HEADER + stringify(crdFor(def), { lineWidth: 0, indent: 2, aliasDuplicateObjects: false });
}

/** Every generated file: path relative to the repository root → contents. */
export function generatedCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of CRD_DIRS) for (const def of KIND_DEFINITIONS) files.set(`${dir}/${crdFileName(def)}`, crdYaml(def));
  return files;
}

// Kustomize's default transformer configuration (kustomize v5, api/konfig/builtinpluginconsts) as the YAML text it
// writes there: where each builtin transformer writes (namePrefix, commonLabels, namespace, varReference,
// nameReference, images, replicas). Data only; fieldspecs.ts reads it once (makeDefaultConfig).

const METADATA_LABELS = `
- path: metadata/labels
  create: true
- path: spec/template/metadata/labels
  create: true
  version: v1
  kind: ReplicationController
- path: spec/template/metadata/labels
  create: true
  kind: Deployment
- path: spec/template/metadata/labels
  create: true
  kind: ReplicaSet
- path: spec/template/metadata/labels
  create: true
  kind: DaemonSet
- path: spec/template/metadata/labels
  create: true
  group: apps
  kind: StatefulSet
- path: spec/volumeClaimTemplates[]/metadata/labels
  create: true
  group: apps
  kind: StatefulSet
- path: spec/template/metadata/labels
  create: true
  group: batch
  kind: Job
- path: spec/jobTemplate/metadata/labels
  create: true
  group: batch
  kind: CronJob
- path: spec/jobTemplate/spec/template/metadata/labels
  create: true
  group: batch
  kind: CronJob
`;

function affinity(kind: string): string {
  return [
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
  ]
    .map((p) => `- path: ${p}\n  group: apps\n  kind: ${kind}\n`)
    .join("");
}

const COMMON_LABELS = `
commonLabels:
- path: spec/selector
  create: true
  version: v1
  kind: Service
- path: spec/selector
  create: true
  version: v1
  kind: ReplicationController
- path: spec/selector/matchLabels
  create: true
  kind: Deployment
${affinity("Deployment")}- path: spec/selector/matchLabels
  create: true
  kind: ReplicaSet
- path: spec/selector/matchLabels
  create: true
  kind: DaemonSet
- path: spec/selector/matchLabels
  create: true
  group: apps
  kind: StatefulSet
${affinity("StatefulSet")}- path: spec/selector/matchLabels
  group: batch
  kind: Job
- path: spec/jobTemplate/spec/selector/matchLabels
  group: batch
  kind: CronJob
- path: spec/selector/matchLabels
  group: policy
  kind: PodDisruptionBudget
- path: spec/podSelector/matchLabels
  group: networking.k8s.io
  kind: NetworkPolicy
- path: spec/ingress/from/podSelector/matchLabels
  group: networking.k8s.io
  kind: NetworkPolicy
- path: spec/egress/to/podSelector/matchLabels
  group: networking.k8s.io
  kind: NetworkPolicy
${METADATA_LABELS}
templateLabels:
${METADATA_LABELS}`;

const ANNOTATIONS = `
commonAnnotations:
- path: metadata/annotations
  create: true
- path: spec/template/metadata/annotations
  create: true
  version: v1
  kind: ReplicationController
- path: spec/template/metadata/annotations
  create: true
  kind: Deployment
- path: spec/template/metadata/annotations
  create: true
  kind: ReplicaSet
- path: spec/template/metadata/annotations
  create: true
  kind: DaemonSet
- path: spec/template/metadata/annotations
  create: true
  kind: StatefulSet
- path: spec/template/metadata/annotations
  create: true
  group: batch
  kind: Job
- path: spec/jobTemplate/metadata/annotations
  create: true
  group: batch
  kind: CronJob
- path: spec/jobTemplate/spec/template/metadata/annotations
  create: true
  group: batch
  kind: CronJob
`;

const NAMESPACE = `
namespace:
- path: metadata/name
  kind: Namespace
  create: true
- path: spec/service/namespace
  group: apiregistration.k8s.io
  kind: APIService
  create: true
- path: spec/conversion/webhook/clientConfig/service/namespace
  group: apiextensions.k8s.io
  kind: CustomResourceDefinition
`;

const WORKLOADS: [string, string][] = [
  ["CronJob", "spec/jobTemplate/spec/template/spec"],
  ["DaemonSet", "spec/template/spec"],
  ["Deployment", "spec/template/spec"],
  ["Job", "spec/template/spec"],
  ["Pod", "spec"],
  ["ReplicaSet", "spec/template/spec"],
  ["StatefulSet", "spec/template/spec"],
];

function varRefs(): string {
  let out = "";
  for (const [kind, base] of WORKLOADS) {
    if (kind === "Pod" || kind === "StatefulSet") continue;
    for (const c of ["containers", "initContainers"]) {
      for (const f of ["args", "command", "env/value", "volumeMounts/mountPath"]) out += `- path: ${base}/${c}/${f}\n  kind: ${kind}\n`;
    }
    out += `- path: ${base}/volumes/nfs/server\n  kind: ${kind}\n`;
  }
  return out;
}

function varRefsFor(kind: string, base: string, volumes: string): string {
  let out = "";
  for (const c of ["containers", "initContainers"]) {
    for (const f of ["args", "command", "env/value", "volumeMounts/mountPath"]) out += `- path: ${base}/${c}/${f}\n  kind: ${kind}\n`;
  }
  return out + `- path: ${volumes}\n  kind: ${kind}\n`;
}

const VAR_REFERENCE = `
varReference:
${varRefs()}- path: spec/rules/host
  kind: Ingress
- path: spec/tls/hosts
  kind: Ingress
- path: spec/tls/secretName
  kind: Ingress
${varRefsFor("Pod", "spec", "spec/volumes/nfs/server")}- path: spec/ports/port
  kind: Service
- path: spec/ports/targetPort
  kind: Service
${varRefsFor("StatefulSet", "spec/template/spec", "spec/volumeClaimTemplates/spec/nfs/server")}- path: spec/nfs/server
  kind: PersistentVolume
- path: metadata/labels
- path: metadata/annotations
`;

const POD_HOLDERS: [string, string, string?][] = [
  ["Deployment", "spec/template/spec"],
  ["ReplicaSet", "spec/template/spec"],
  ["DaemonSet", "spec/template/spec"],
  ["StatefulSet", "spec/template/spec"],
  ["Job", "spec/template/spec"],
  ["CronJob", "spec/jobTemplate/spec/template/spec"],
];

function podRefs(rels: string[]): string {
  let out = rels.map((r) => `  - path: spec/${r}\n    version: v1\n    kind: Pod\n`).join("");
  for (const [kind, base] of POD_HOLDERS) out += rels.map((r) => `  - path: ${base}/${r}\n    kind: ${kind}\n`).join("");
  return out;
}

const CM_RELS = [
  "volumes/configMap/name",
  "containers/env/valueFrom/configMapKeyRef/name",
  "initContainers/env/valueFrom/configMapKeyRef/name",
  "containers/envFrom/configMapRef/name",
  "initContainers/envFrom/configMapRef/name",
  "volumes/projected/sources/configMap/name",
];
const SECRET_RELS = [
  "volumes/secret/secretName",
  "containers/env/valueFrom/secretKeyRef/name",
  "initContainers/env/valueFrom/secretKeyRef/name",
  "containers/envFrom/secretRef/name",
  "initContainers/envFrom/secretRef/name",
  "imagePullSecrets/name",
  "volumes/projected/sources/secret/name",
];

function simpleRefs(rel: string, kinds: [string, string][]): string {
  return kinds.map(([kind, base]) => `  - path: ${base}/${rel}\n    kind: ${kind}\n`).join("");
}

const SA_HOLDERS: [string, string][] = [
  ["Pod", "spec"],
  ["StatefulSet", "spec/template/spec"],
  ["Deployment", "spec/template/spec"],
  ["ReplicationController", "spec/template/spec"],
  ["CronJob", "spec/jobTemplate/spec/template/spec"],
  ["Job", "spec/template/spec"],
  ["DaemonSet", "spec/template/spec"],
];

const NAME_REFERENCE = `
nameReference:
- kind: Deployment
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler
- kind: ReplicationController
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler
- kind: ReplicaSet
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler
- kind: StatefulSet
  fieldSpecs:
  - path: spec/scaleTargetRef/name
    kind: HorizontalPodAutoscaler
- kind: ConfigMap
  version: v1
  fieldSpecs:
${podRefs(CM_RELS)}  - path: spec/configSource/configMap
    kind: Node
  - path: rules/resourceNames
    kind: Role
  - path: rules/resourceNames
    kind: ClusterRole
  - path: metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap
    kind: Ingress
  - path: spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
    kind: Service
    group: serving.knative.dev
    version: v1
  - path: spec/template/spec/containers/envFrom/configMapRef/name
    kind: Service
    group: serving.knative.dev
    version: v1
- kind: Secret
  version: v1
  fieldSpecs:
${podRefs(SECRET_RELS)}  - path: spec/tls/secretName
    kind: Ingress
  - path: metadata/annotations/ingress.kubernetes.io\\/auth-secret
    kind: Ingress
  - path: metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret
    kind: Ingress
  - path: metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret
    kind: Ingress
  - path: imagePullSecrets/name
    kind: ServiceAccount
  - path: parameters/secretName
    kind: StorageClass
  - path: parameters/adminSecretName
    kind: StorageClass
  - path: parameters/userSecretName
    kind: StorageClass
  - path: parameters/secretRef
    kind: StorageClass
  - path: rules/resourceNames
    kind: Role
  - path: rules/resourceNames
    kind: ClusterRole
  - path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name
    kind: Service
    group: serving.knative.dev
    version: v1
  - path: spec/azureFile/secretName
    kind: PersistentVolume
- kind: Service
  version: v1
  fieldSpecs:
  - path: spec/serviceName
    kind: StatefulSet
    group: apps
  - path: spec/rules/http/paths/backend/serviceName
    kind: Ingress
  - path: spec/backend/serviceName
    kind: Ingress
  - path: spec/rules/http/paths/backend/service/name
    kind: Ingress
  - path: spec/defaultBackend/service/name
    kind: Ingress
  - path: spec/service/name
    kind: APIService
    group: apiregistration.k8s.io
  - path: webhooks/clientConfig/service
    kind: ValidatingWebhookConfiguration
    group: admissionregistration.k8s.io
  - path: webhooks/clientConfig/service
    kind: MutatingWebhookConfiguration
    group: admissionregistration.k8s.io
- kind: Role
  group: rbac.authorization.k8s.io
  fieldSpecs:
  - path: roleRef/name
    kind: RoleBinding
    group: rbac.authorization.k8s.io
- kind: ClusterRole
  group: rbac.authorization.k8s.io
  fieldSpecs:
  - path: roleRef/name
    kind: RoleBinding
    group: rbac.authorization.k8s.io
  - path: roleRef/name
    kind: ClusterRoleBinding
    group: rbac.authorization.k8s.io
- kind: ServiceAccount
  version: v1
  fieldSpecs:
  - path: subjects
    kind: RoleBinding
    group: rbac.authorization.k8s.io
  - path: subjects
    kind: ClusterRoleBinding
    group: rbac.authorization.k8s.io
${simpleRefs("serviceAccountName", SA_HOLDERS)}- kind: PersistentVolumeClaim
  version: v1
  fieldSpecs:
${simpleRefs("volumes/persistentVolumeClaim/claimName", SA_HOLDERS)}- kind: PersistentVolume
  version: v1
  fieldSpecs:
  - path: spec/volumeName
    kind: PersistentVolumeClaim
  - path: rules/resourceNames
    kind: ClusterRole
- kind: StorageClass
  version: v1
  group: storage.k8s.io
  fieldSpecs:
  - path: spec/storageClassName
    kind: PersistentVolume
  - path: spec/storageClassName
    kind: PersistentVolumeClaim
  - path: spec/volumeClaimTemplates/spec/storageClassName
    kind: StatefulSet
- kind: PriorityClass
  version: v1
  group: scheduling.k8s.io
  fieldSpecs:
${simpleRefs("priorityClassName", SA_HOLDERS)}- kind: IngressClass
  version: v1
  group: networking.k8s.io/v1
  fieldSpecs:
  - path: spec/ingressClassName
    kind: Ingress
`;

const IMAGES = `
images:
- path: spec/containers[]/image
  create: true
- path: spec/initContainers[]/image
  create: true
- path: spec/template/spec/containers[]/image
  create: true
- path: spec/template/spec/initContainers[]/image
  create: true
`;

const REPLICAS = `
replicas:
- path: spec/replicas
  create: true
  kind: Deployment
- path: spec/replicas
  create: true
  kind: ReplicationController
- path: spec/replicas
  create: true
  kind: ReplicaSet
- path: spec/replicas
  create: true
  kind: StatefulSet
`;

export const DEFAULT_CONFIG_YAML = [
  "namePrefix:\n- path: metadata/name\n",
  "nameSuffix:\n- path: metadata/name\n",
  COMMON_LABELS,
  ANNOTATIONS,
  NAMESPACE,
  VAR_REFERENCE,
  NAME_REFERENCE,
  IMAGES,
  REPLICAS,
].join("\n");

// What a kubelet derives from a Pod object before it starts a container, as pure functions: the environment
// (image ENV, Service links, the container's env and envFrom with fieldRef/configMapKeyRef/secretKeyRef resolved,
// $(VAR) expansion), the user it runs as, the files of projected/configMap/secret volumes, and the Pod's /etc/hosts
// with the cluster's Services (the process node's stand-in for cluster DNS). Used by process-node.ts.

/** The parts of the Pod API the node reads (raw JSON from the API server). */
export interface Pod {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; resourceVersion?: string };
  spec: {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    enableServiceLinks?: boolean;
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    terminationGracePeriodSeconds?: number;
    securityContext?: SecurityContext & { fsGroup?: number };
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[]; hostIP?: string; hostIPs?: { ip: string }[]; conditions?: { type: string; status: string }[] };
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command: string[] };
  grpc?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: unknown;
  };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: unknown;
  securityContext?: SecurityContext;
  terminationMessagePath?: string;
  restartPolicy?: string;
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number };
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number };
  projected?: {
    defaultMode?: number;
    sources: {
      serviceAccountToken?: { path: string; expirationSeconds?: number; audience?: string };
      configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
      secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
      downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[] };
    }[];
  };
  [other: string]: unknown;
}

export interface Service {
  metadata: { name: string; namespace: string };
  spec: { clusterIP?: string; type?: string; ports?: { name?: string; port: number; protocol?: string }[] };
}

/** The reasons this node cannot run a Pod the way a kubelet would; empty when it can. */
export function unsupported(pod: Pod): string[] {
  const out: string[] = [];
  const s = pod.spec;
  if (s.hostNetwork) out.push("hostNetwork");
  if (s.hostPID) out.push("hostPID");
  if (s.hostIPC) out.push("hostIPC");
  if (s.initContainers?.length) out.push("initContainers");
  if (s.containers.length !== 1) out.push(`${s.containers.length} containers (the node runs one per Pod)`);
  for (const c of s.containers) {
    if (c.lifecycle) out.push(`container ${c.name}: lifecycle hooks`);
    if (c.securityContext?.privileged) out.push(`container ${c.name}: privileged`);
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (p?.grpc) out.push(`container ${c.name}: grpc probes`);
    for (const e of c.env ?? []) if (e.valueFrom?.resourceFieldRef) out.push(`container ${c.name}: env ${e.name} from resourceFieldRef`);
  }
  for (const v of s.volumes ?? []) {
    const kinds = Object.keys(v).filter((k) => k !== "name");
    if (!kinds.every((k) => ["emptyDir", "configMap", "secret", "projected"].includes(k))) out.push(`volume ${v.name}: ${kinds.join(",")}`);
  }
  return out;
}

/** The value of a downward-API fieldRef, as the kubelet resolves it. */
export function fieldRefValue(pod: Pod, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(",");
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(",");
    default:
      throw new Error(`unsupported fieldRef ${fieldPath}`);
  }
}

/** Kubernetes' $(VAR) expansion (k8s.io/kubernetes/third_party/forked/golang/expansion): $$ escapes, unknown names stay. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The Service environment variables a kubelet injects (pkg/kubelet/envvars), for one Service. */
export function serviceEnv(svc: Service): [string, string][] {
  const ip = svc.spec.clusterIP;
  if (!ip || ip === "None" || !svc.spec.ports?.length) return [];
  const name = svc.metadata.name.toUpperCase().replace(/-/g, "_");
  const out: [string, string][] = [
    [`${name}_SERVICE_HOST`, ip],
    [`${name}_SERVICE_PORT`, String(svc.spec.ports[0]!.port)],
  ];
  for (const p of svc.spec.ports) if (p.name) out.push([`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, "_")}`, String(p.port)]);
  const first = svc.spec.ports[0]!;
  const url = (p: { port: number; protocol?: string }) => `${(p.protocol ?? "TCP").toLowerCase()}://${ip.includes(":") ? `[${ip}]` : ip}:${p.port}`;
  out.push([`${name}_PORT`, url(first)]);
  for (const p of svc.spec.ports) {
    const proto = (p.protocol ?? "TCP").toUpperCase();
    const prefix = `${name}_PORT_${p.port}_${proto}`;
    out.push([prefix, url(p)], [`${prefix}_PROTO`, proto.toLowerCase()], [`${prefix}_PORT`, String(p.port)], [`${prefix}_ADDR`, ip]);
  }
  return out;
}

export interface ObjectReader {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
}

/**
 * The container's environment, in the kubelet's precedence: the image's ENV, then (overriding) the Service variables
 * and the container's env/envFrom (container env wins over a Service variable of the same name), plus HOSTNAME as the
 * runtime sets it. `$(VAR)` in values expands against what is defined before it.
 */
export async function containerEnv(o: { pod: Pod; container: Container; imageEnv: [string, string][]; services: Service[]; reader: ObjectReader; kubernetesHostOverride?: string }): Promise<Record<string, string>> {
  const { pod, container } = o;
  const svcVars = new Map<string, string>();
  const linked = o.services.filter((s) => (s.metadata.namespace === "default" && s.metadata.name === "kubernetes") || (s.metadata.namespace === pod.metadata.namespace && pod.spec.enableServiceLinks !== false));
  // The master service's variables are set only from the default namespace's `kubernetes`; a Service named
  // `kubernetes` in the Pod's own namespace does not override them.
  for (const s of linked.sort((a, b) => (a.metadata.namespace === "default" && a.metadata.name === "kubernetes" ? 1 : 0) - (b.metadata.namespace === "default" && b.metadata.name === "kubernetes" ? 1 : 0))) {
    for (const [k, v] of serviceEnv(s)) svcVars.set(k, v);
  }
  if (o.kubernetesHostOverride) svcVars.set("KUBERNETES_SERVICE_HOST", o.kubernetesHostOverride);
  const defined = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const data = await o.reader.configMap(pod.metadata.namespace, from.configMapRef.name);
      if (!data && !from.configMapRef.optional) throw new Error(`envFrom: ConfigMap ${from.configMapRef.name} not found`);
      for (const [k, v] of Object.entries(data ?? {})) defined.set(prefix + k, v);
    }
    if (from.secretRef) {
      const data = await o.reader.secret(pod.metadata.namespace, from.secretRef.name);
      if (!data && !from.secretRef.optional) throw new Error(`envFrom: Secret ${from.secretRef.name} not found`);
      for (const [k, v] of Object.entries(data ?? {})) defined.set(prefix + k, v.toString("utf8"));
    }
  }
  const lookup = (n: string) => defined.get(n) ?? svcVars.get(n);
  for (const e of container.env ?? []) {
    let v: string;
    if (e.valueFrom?.fieldRef) v = fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      const data = await o.reader.configMap(pod.metadata.namespace, r.name);
      const got = data?.[r.key];
      if (got === undefined && !r.optional) throw new Error(`env ${e.name}: key ${r.key} of ConfigMap ${r.name} not found`);
      if (got === undefined) continue;
      v = got;
    } else if (e.valueFrom?.secretKeyRef) {
      const r = e.valueFrom.secretKeyRef;
      const data = await o.reader.secret(pod.metadata.namespace, r.name);
      const got = data?.[r.key];
      if (got === undefined && !r.optional) throw new Error(`env ${e.name}: key ${r.key} of Secret ${r.name} not found`);
      if (got === undefined) continue;
      v = got.toString("utf8");
    } else v = expand(e.value ?? "", lookup);
    defined.set(e.name, v);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of o.imageEnv) env[k] = v;
  env.HOSTNAME = pod.spec.hostname ?? pod.metadata.name;
  for (const [k, v] of svcVars) if (!defined.has(k)) env[k] = v;
  for (const [k, v] of defined) env[k] = v;
  return env;
}

/** uid, gid and read-only root for the container: its securityContext over the Pod's over the image's USER. */
export function runAs(pod: Pod, container: Container, imageUser: string | undefined): { uid: number; gid: number; readOnlyRoot: boolean } {
  const [iu, ig] = (imageUser ?? "0").split(":");
  if (!/^\d+$/.test(iu ?? "") || (ig !== undefined && !/^\d+$/.test(ig))) throw new Error(`the image's USER ${imageUser} is not numeric; the process node runs numeric ids only`);
  const uid = container.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser ?? Number(iu);
  const gid = container.securityContext?.runAsGroup ?? pod.spec.securityContext?.runAsGroup ?? Number(ig ?? 0);
  const nonRoot = container.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot;
  if (nonRoot && uid === 0) throw new Error(`container ${container.name} has runAsNonRoot and would run as root`);
  return { uid, gid, readOnlyRoot: container.securityContext?.readOnlyRootFilesystem === true };
}

/** The kubelet-managed /etc/hosts of a Pod, plus one line per Service: the cluster DNS names of its ClusterIP. */
export function hostsFile(pod: Pod, services: Service[], clusterDomain: string): string {
  const host = pod.spec.hostname ?? pod.metadata.name;
  const lines = [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  if (pod.status?.podIP) {
    const fqdn = pod.spec.subdomain ? `${host}.${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}\t` : "";
    lines.push(`${pod.status.podIP}\t${fqdn}${host}`);
  }
  lines.push("# Cluster DNS names of the Services (written by the process node in place of CoreDNS).");
  const sorted = [...services].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const s of sorted) {
    const ip = s.spec.clusterIP;
    if (!ip || ip === "None") continue;
    const { name, namespace } = s.metadata;
    // The search path of a Pod's resolv.conf (<ns>.svc.<domain> svc.<domain> <domain>) makes these resolve too.
    const names = [`${name}.${namespace}.svc.${clusterDomain}`, `${name}.${namespace}.svc`, `${name}.${namespace}`];
    if (namespace === pod.metadata.namespace) names.push(name);
    lines.push(`${ip}\t${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

/** The port number a probe names (a number, or the name of one of the container's ports). */
export function probePort(port: number | string, container: Container): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = container.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`probe port ${port} is not a port of container ${container.name}`);
  return p.containerPort;
}

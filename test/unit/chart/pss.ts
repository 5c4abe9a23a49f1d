// The `restricted` Pod Security Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
// as a checker over a rendered pod spec, so the unit tests can say which rule a template breaks.
// The integration test checks the same thing with the API server's own PodSecurity admission.

type Obj = Record<string, unknown>;

const ALLOWED_VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

const get = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);

/** Returns one line per violated rule; empty means the pod spec meets `restricted`. */
export function restrictedViolations(podSpec: Obj, where: string): string[] {
  const out: string[] = [];
  const psc = (podSpec.securityContext ?? {}) as Obj;
  for (const host of ["hostNetwork", "hostPID", "hostIPC"]) if (podSpec[host] === true) out.push(`${where}: ${host} is true`);
  if (get(psc, "windowsOptions", "hostProcess") === true) out.push(`${where}: hostProcess is true`);
  if (psc.runAsUser === 0) out.push(`${where}: pod runAsUser is 0`);
  const podSeccomp = get(psc, "seccompProfile", "type");
  if (podSeccomp !== undefined && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") out.push(`${where}: pod seccompProfile is ${String(podSeccomp)}`);

  for (const v of (podSpec.volumes ?? []) as Obj[]) {
    const types = Object.keys(v).filter((k) => k !== "name");
    for (const t of types) if (!ALLOWED_VOLUME_TYPES.has(t)) out.push(`${where}: volume ${String(v.name)} has type ${t}`);
  }

  const containers = [...((podSpec.initContainers ?? []) as Obj[]), ...((podSpec.containers ?? []) as Obj[]), ...((podSpec.ephemeralContainers ?? []) as Obj[])];
  if (containers.length === 0) out.push(`${where}: no containers`);
  for (const c of containers) {
    const at = `${where} container ${String(c.name)}`;
    const sc = (c.securityContext ?? {}) as Obj;
    if (sc.privileged === true) out.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
    const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (runAsNonRoot !== true) out.push(`${at}: runAsNonRoot is not true (pod or container)`);
    if (sc.runAsUser === 0) out.push(`${at}: runAsUser is 0`);
    const seccomp = get(sc, "seccompProfile", "type") ?? podSeccomp;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") out.push(`${at}: seccompProfile is ${String(seccomp)}, not RuntimeDefault or Localhost`);
    const drop = (get(sc, "capabilities", "drop") ?? []) as string[];
    if (!drop.includes("ALL")) out.push(`${at}: capabilities do not drop ALL`);
    const add = (get(sc, "capabilities", "add") ?? []) as string[];
    for (const cap of add) if (cap !== "NET_BIND_SERVICE") out.push(`${at}: adds capability ${cap}`);
    for (const p of (c.ports ?? []) as Obj[]) if (p.hostPort) out.push(`${at}: hostPort ${String(p.hostPort)}`);
    const proc = sc.procMount;
    if (proc !== undefined && proc !== "Default") out.push(`${at}: procMount ${String(proc)}`);
  }
  return out;
}

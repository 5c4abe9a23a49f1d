// The test servers listen on loopback only; Pods (of the process node or a kind cluster) reach them through a TCP
// forwarder on every interface, at an address of this machine that is not loopback.
import net from "node:net";
import os from "node:os";

/** The first IPv4 address of this machine that is not loopback: Pods reach the host's servers there. */
export function hostAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this machine has no IPv4 address besides loopback; the Pods could not reach the git server");
}

/** A TCP forwarder on every interface to a loopback port. */
export async function exposeOnAllInterfaces(targetPort: number): Promise<net.Server> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, "127.0.0.1");
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => resolve());
  });
  return server;
}

export interface PodReachable {
  /** The loopback URL rewritten to the forwarder at `host`. */
  url: string;
  forwarder: net.Server;
}

/** Exposes a loopback URL's port on every interface; `host` defaults to hostAddress(). */
export async function podReachableUrl(loopbackUrl: string, host = hostAddress()): Promise<PodReachable> {
  const u = new URL(loopbackUrl);
  const forwarder = await exposeOnAllInterfaces(Number(u.port));
  u.hostname = host;
  u.port = String((forwarder.address() as net.AddressInfo).port);
  return { url: u.toString(), forwarder };
}

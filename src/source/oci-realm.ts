// Where a registry's token flow may take a HelmRepository's credentials. A registry answering 401 with
// `WWW-Authenticate: Bearer realm=…` names the token service a client asks for a token, with its credentials. The
// registry chooses that URL, so a misconfigured or compromised registry (or whoever can change its answers) could
// have the credentials sent in clear text (an http:// realm) or to another party. oras-go, under Helm and Flux,
// followed any realm until v2.6.1 (GHSA-xf85-363p-868w); it (and so the pinned helm) and go-containerregistry refuse
// an http realm for a registry reached over HTTPS, and go-containerregistry a realm outside the registry's domain.
// Mooring does the same: the realm must be https (Mooring reaches registries over HTTPS only) and, with credentials
// to send, on the registry's own host name or in its domain (the same last two DNS labels, as registry-1.docker.io
// and auth.docker.io; an IP address only for the same address). Without credentials nothing secret is sent, so an
// https realm elsewhere is asked anonymously, as Helm does.
import net from "node:net";

export type RealmCheck = { url: URL } | { refused: string };

/** The realm of a challenge as a URL to ask, or why it is refused (a sentence to follow "the registry <host> "). */
export function checkRealm(realm: string, registryHost: string, withCredentials: boolean): RealmCheck {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return { refused: "answered with a token service (Bearer realm) that is not a URL; the registry is misconfigured" };
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== "https:" && url.protocol !== "http:") return { refused: `sends clients for a token to ${shown}, which is not an http(s) URL; the registry is misconfigured` };
  if (url.username || url.password) return { refused: `sends clients for a token to a URL with a user name or password in it (${shown}); the registry is misconfigured` };
  if (url.protocol === "http:") {
    return {
      refused:
        `sends clients for a token to ${shown} over plain HTTP, where the credentials of spec.secretRef and the token would cross the network in clear text: ` +
        "Mooring did not ask it. Configure the registry's token service with an https:// realm (in the CNCF registry: auth.token.realm)",
    };
  }
  if (!withCredentials) return { url };
  const own = domainOf(new URL(`https://${registryHost}`).hostname);
  const theirs = domainOf(url.hostname);
  if (own !== theirs) {
    return {
      refused:
        `sends clients for a token to ${shown}, outside the registry's domain (${own}): Mooring sends the credentials of spec.secretRef ` +
        `only to the registry's own domain and did not send them. Serve the token service under ${own}, or check that the HelmRepository's spec.url names the registry you trust`,
    };
  }
  return { url };
}

/** A host's trust domain: an IP address itself, else its last two DNS labels (lowercase, without a final dot). */
export function domainOf(hostname: string): string {
  const host = hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  if (net.isIP(host)) return host;
  return host.split(".").slice(-2).join(".");
}

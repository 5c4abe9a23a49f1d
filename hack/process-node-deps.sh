#!/usr/bin/env bash
# Debian packages the process node (test/support/process-node.ts) needs beyond a base system: iptables and conntrack
# for kube-proxy's Service rules, and tini, the image's PID 1 (the Dockerfile installs it the same way). iproute2 (ip)
# and util-linux (unshare, nsenter, setpriv, mount) are part of every Debian base. Idempotent: installs only what is
# missing, so a machine that has everything runs no apt-get at all.
set -euo pipefail
missing=()
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v conntrack >/dev/null 2>&1 || missing+=(conntrack)
[ -x /usr/bin/tini ] || missing+=(tini)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
for c in unshare nsenter setpriv; do command -v "$c" >/dev/null 2>&1 || { missing+=(util-linux); break; }; done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
[ "$(id -u)" = 0 ] || { echo "process-node-deps: ${missing[*]} missing and not root; run: apt-get install -y ${missing[*]}" >&2; exit 1; }
echo "process-node-deps: installing ${missing[*]} from apt" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

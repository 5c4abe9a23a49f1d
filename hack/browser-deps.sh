#!/usr/bin/env bash
# Debian's chromium, which the UI's browser tests drive with playwright-core (test/integration/ui): installed only
# when missing, so a machine that has it runs no apt-get. Nothing downloads a browser from anywhere else.
set -euo pipefail
if [ -x "${MOORING_CHROMIUM:-/usr/bin/chromium}" ]; then exit 0; fi
[ "$(id -u)" = 0 ] || { echo "browser-deps: chromium missing and not root; run: apt-get install -y chromium" >&2; exit 1; }
echo "browser-deps: installing chromium from apt" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null

#!/usr/bin/env bash
# `make run`: the operator in the foreground. With KUBECONFIG set it runs against that cluster; without it, it
# brings up the local cluster (the embedded default), installs the CRDs, and runs there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ -z "${KUBECONFIG:-}" ]; then
  bash "$here/tools.sh" >/dev/null
  KUBECONFIG=$(bash "$here/cluster.sh" up mooring | tail -n 1)
  export KUBECONFIG
  echo "run: using the local cluster; try: kubectl --kubeconfig $KUBECONFIG get mooring -A" >&2
fi
# Install (or update) the CRDs at start-up, like a developer expects from `make run`.
export MOORING_INSTALL_CRDS=${MOORING_INSTALL_CRDS:-true}
# Local ports that do not clash with a developer's other services; override with the MOORING_* variables.
export MOORING_HEALTH_ADDR=${MOORING_HEALTH_ADDR:-127.0.0.1:18081}
export MOORING_METRICS_ADDR=${MOORING_METRICS_ADDR:-127.0.0.1:18080}
export MOORING_ARTIFACT_ADDR=${MOORING_ARTIFACT_ADDR:-127.0.0.1:19090}
export MOORING_WEBHOOK_ADDR=${MOORING_WEBHOOK_ADDR:-127.0.0.1:19292}
export MOORING_STORAGE_PATH=${MOORING_STORAGE_PATH:-${MOORING_CACHE:-$HOME/.cache/mooring}/artifacts}
exec "$root/node_modules/.bin/tsx" "$root/src/cli/main.ts" controller "$@"

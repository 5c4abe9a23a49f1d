#!/usr/bin/env bash
# `make run`: the operator in the foreground. With KUBECONFIG set it runs against that cluster; without it, it
# brings up the local cluster (the embedded default), installs the CRDs, serves examples/quickstart from a loopback
# git server with a GitRepository and three Applications pointing at it (hack/quickstart.sh), and runs there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quickstart=0
if [ -z "${KUBECONFIG:-}" ]; then
  bash "$here/tools.sh" >/dev/null
  KUBECONFIG=$(bash "$here/cluster.sh" up mooring | tail -n 1)
  export KUBECONFIG
  quickstart=1
  echo "run: using the local cluster; try: KUBECONFIG=$KUBECONFIG kubectl get mooring -A" >&2
fi
# Install (or update) the CRDs at start-up, like a developer expects from `make run`.
export MOORING_INSTALL_CRDS=${MOORING_INSTALL_CRDS:-true}
# Local ports that do not clash with a developer's other services; override with the MOORING_* variables.
export MOORING_HEALTH_ADDR=${MOORING_HEALTH_ADDR:-127.0.0.1:18081}
export MOORING_METRICS_ADDR=${MOORING_METRICS_ADDR:-127.0.0.1:18080}
export MOORING_ARTIFACT_ADDR=${MOORING_ARTIFACT_ADDR:-127.0.0.1:19090}
export MOORING_ADVERTISED_ARTIFACT_ADDR=${MOORING_ADVERTISED_ARTIFACT_ADDR:-$MOORING_ARTIFACT_ADDR}
export MOORING_WEBHOOK_ADDR=${MOORING_WEBHOOK_ADDR:-127.0.0.1:19292}
export MOORING_STORAGE_PATH=${MOORING_STORAGE_PATH:-${MOORING_CACHE:-$HOME/.cache/mooring}/artifacts}
export MOORING_LEADER_ELECTION_NAMESPACE=${MOORING_LEADER_ELECTION_NAMESPACE:-default}

if [ $quickstart = 0 ]; then
  exec "$root/node_modules/.bin/tsx" "$root/src/cli/main.ts" controller "$@"
fi
# The quickstart's git server lives as long as the operator: both stop on Ctrl-C.
bash "$here/quickstart.sh" &
qs=$!
"$root/node_modules/.bin/tsx" "$root/src/cli/main.ts" controller "$@" &
op=$!
trap 'kill -TERM "$op" "$qs" 2>/dev/null || true' INT TERM
set +e
wait "$op"; rc=$?
kill -TERM "$qs" 2>/dev/null; wait "$qs" 2>/dev/null
exit $rc

#!/usr/bin/env bash
# The end-to-end suite on a kind cluster, with the operator running in the cluster from the image built here.
# Needs Docker (a running engine), Node 20 and Go (Go only to install the pinned kind and helm when missing).
# The same steps run in CI (.github/workflows/e2e.yaml calls this script), so the two cannot drift apart.
#
#   bash hack/e2e-kind.sh           tools, cluster, image, install, suite; deletes the cluster at the end
#   bash hack/e2e-kind.sh tools     only install kind and helm (pinned) into the tool cache
#   KEEP_CLUSTER=1 bash hack/e2e-kind.sh    keep the cluster afterwards to look around
#
# Environment: KIND_CLUSTER (default mooring-e2e), IMAGE (default mooring:e2e), KIND_VERSION, KIND_NODE_IMAGE
# (default: kind's own for its version), MOORING_CACHE (tool cache, as for `make tools`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

KIND_VERSION=${KIND_VERSION:-v0.33.0}
KIND_CLUSTER=${KIND_CLUSTER:-mooring-e2e}
IMAGE=${IMAGE:-mooring:e2e}
NAMESPACE=${NAMESPACE:-mooring-system}
RELEASE=${RELEASE:-mooring}
CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
BIN="$CACHE/bin"
export PATH="$BIN:$PATH"
KUBECONFIG_FILE="$CACHE/kind-$KIND_CLUSTER.kubeconfig"

say() { echo "e2e-kind: $*" >&2; }
die() { echo "e2e-kind: error: $*" >&2; exit 1; }

# kind and helm at their pinned versions, built with `go install` like hack/tools.sh does (helm with the same flags).
install_tools() {
  mkdir -p "$BIN"
  if ! kind version 2>/dev/null | grep -q "kind $KIND_VERSION "; then
    command -v go >/dev/null || die "kind $KIND_VERSION is missing and Go is not installed to build it; install Go or kind (https://kind.sigs.k8s.io)"
    say "installing kind $KIND_VERSION"
    GOBIN="$BIN" CGO_ENABLED=0 go install "sigs.k8s.io/kind@$KIND_VERSION"
  fi
  if ! helm version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    command -v go >/dev/null || die "helm $HELM_VERSION is missing and Go is not installed to build it; run 'make tools' on a machine with Go"
    say "installing helm $HELM_VERSION"
    local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
    GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  fi
}

preflight() {
  for c in docker kubectl node npm; do command -v "$c" >/dev/null || die "$c is not installed"; done
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed); kind needs a running Docker"
}

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
    say "reusing kind cluster $KIND_CLUSTER"
  else
    say "creating kind cluster $KIND_CLUSTER"
    kind create cluster --name "$KIND_CLUSTER" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
  fi
  kind get kubeconfig --name "$KIND_CLUSTER" > "$KUBECONFIG_FILE"
}

build_image() {
  say "building $IMAGE"
  docker build -t "$IMAGE" "$root"
  kind load docker-image "$IMAGE" --name "$KIND_CLUSTER"
}

install_chart() {
  say "installing the chart (release $RELEASE in $NAMESPACE)"
  # The CRDs come with the chart (its crds/ folder); the pulled image is the one loaded above, never a registry's.
  helm upgrade --install "$RELEASE" "$root/charts/mooring" --kubeconfig "$KUBECONFIG_FILE" \
    --namespace "$NAMESPACE" --create-namespace \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
    --set logLevel=debug --wait --timeout 5m
  kubectl --kubeconfig "$KUBECONFIG_FILE" -n "$NAMESPACE" get deployments,pods,services -o wide
}

run_suite() {
  say "running the end-to-end suite against kind"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  # The suite drives the cluster the kubeconfig points at; the operator is the in-cluster release above.
  # In-cluster Pods reach the suite's git server through the kind network's gateway (this machine).
  local git_host
  git_host=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 '\.')
  MOORING_TEST_KUBECONFIG="$KUBECONFIG_FILE" MOORING_E2E_OPERATOR=in-cluster MOORING_E2E_NAMESPACE="$NAMESPACE" \
    MOORING_E2E_GIT_HOST="$git_host" make -C "$root" --no-print-directory e2e-only
}

dump_state() {
  say "state of the cluster at failure:"
  kubectl --kubeconfig "$KUBECONFIG_FILE" get pods -A -o wide >&2 || true
  kubectl --kubeconfig "$KUBECONFIG_FILE" -n "$NAMESPACE" logs -l app.kubernetes.io/instance="$RELEASE" --all-containers --tail=200 --prefix >&2 || true
  kubectl --kubeconfig "$KUBECONFIG_FILE" get events -A --sort-by=.lastTimestamp >&2 | tail -n 50 || true
}

finish() {
  local rc=$?
  if [ $rc != 0 ] && [ -f "$KUBECONFIG_FILE" ]; then dump_state; fi
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    say "keeping cluster $KIND_CLUSTER (kubeconfig $KUBECONFIG_FILE); delete it with: kind delete cluster --name $KIND_CLUSTER"
  elif command -v kind >/dev/null && kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
    kind delete cluster --name "$KIND_CLUSTER" >&2 || true
  fi
  exit $rc
}

case "${1:-all}" in
  tools) install_tools ;;
  all)
    install_tools
    preflight
    trap finish EXIT
    create_cluster
    build_image
    install_chart
    run_suite
    ;;
  *) die "unknown step '$1'; use: tools, all" ;;
esac

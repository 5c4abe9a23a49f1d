#!/usr/bin/env bash
# Builds the pinned Kubernetes control-plane binaries (and kube-proxy, for the process node), etcd, kwok/kwokctl, helm and
# toxiproxy-server (for test/faults) and the distribution registry (OCI, for HelmChart tests) from the Go module proxy,
# into a cache outside the clone so every clone (and CI) reuses them. Idempotent: a binary already built for
# its pinned module graph is not rebuilt. Prints the directory of the binaries on the last line of stdout.
#
# Each tool is built from a committed wrapper module, hack/tools/<name>/go.mod + go.sum, with -mod=readonly:
# a fresh machine resolves exactly the graph we tested, never a newer release that appeared on the proxy.
# Bumping a version is one reviewed change: edit hack/versions.env, then `hack/tools.sh --update` rewrites the
# wrapper modules (test/unit/foundation/tool-modules.test.ts checks that they agree with versions.env).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
MODS="$here/tools"

CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
TOOLS="$CACHE/tools"
BIN="$CACHE/bin"
mkdir -p "$TOOLS" "$BIN"

say() { echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed; install Go 1.26+ (https://go.dev/dl or 'apt-get install golang') and run 'make tools' again"
gov=$(go env GOVERSION); gov=${gov#go}
if [ "$(printf '%s\n' 1.26 "$gov" | sort -V | head -n1)" != 1.26 ]; then
  die "Go $gov is too old: Kubernetes $KUBERNETES_VERSION needs Go 1.26+; install a newer Go and run 'make tools' again"
fi
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off

# --- hack/tools.sh --update: rewrite the wrapper modules from versions.env (a maintainer's step, reviewed) ---
if [ "${1:-}" = "--update" ]; then
  export GOFLAGS="-buildvcs=false -mod=mod"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  gomod=$(cd "$tmp" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION from the Go module proxy"
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  # Kubernetes replaces its staging modules with ./staging paths; the wrapper points each at its published v0.Y.Z.
  { echo "module mooring.dev/tools/kubernetes"; echo
    grep -m1 '^go ' "$gomod"; echo
    grep -m1 '^godebug' "$gomod" && echo
    echo "tool ("; for t in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do printf '\tk8s.io/kubernetes/cmd/%s\n' "$t"; done; echo ")"; echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"; echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | grep '=> ./staging' | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$tmp/go.mod"
  mkdir -p "$MODS/kubernetes"; rm -f "$MODS/kubernetes/go.sum"; cp "$tmp/go.mod" "$MODS/kubernetes/go.mod"
  (cd "$MODS/kubernetes" && go mod tidy >&2) || die "resolving Kubernetes $KUBERNETES_VERSION failed"
  wrap() { # name tool@version...
    local name=$1; shift
    mkdir -p "$MODS/$name"; rm -f "$MODS/$name/go.sum"
    printf 'module mooring.dev/tools/%s\n\ngo 1.26.0\n' "$name" > "$MODS/$name/go.mod"
    (cd "$MODS/$name" && go get -tool "$@" >&2 && go mod tidy >&2) || die "resolving $name failed"
  }
  wrap etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  wrap kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  wrap helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  wrap toxiproxy "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  wrap registry "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  say "wrapper modules rewritten in $MODS; review and commit them"
  exit 0
fi

proxy=$(go env GOPROXY | cut -d, -f1)
if [ "$proxy" != "off" ] && [ "$proxy" != "direct" ] && command -v curl >/dev/null 2>&1; then
  curl -fsS --max-time 20 -o /dev/null "$proxy/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.info" 2>/dev/null \
    || [ -n "$(ls "$TOOLS" 2>/dev/null)" ] \
    || die "the Go module proxy $proxy is unreachable (GOPROXY=$(go env GOPROXY)); check the network or set GOPROXY, then run 'make tools' again"
fi

# A binary's cache key is its version plus a digest of its wrapper module, so a reviewed change to go.sum rebuilds.
# A module with Go sources of its own (mooring-helm) has them in its key too.
key() { cat "$MODS/$1/go.mod" "$MODS/$1/go.sum" $(find "$MODS/$1" -maxdepth 1 -name '*.go' | sort) | sha256sum | cut -c1-12; }
# build <module dir> <version> <ldflags> <binary=package>...: builds the binaries missing from the cache and links them.
build() {
  local mod=$1 version=$2 ld=$3; shift 3
  local k missing=() pkgs=() spec name
  k=$(key "$mod")
  for spec in "$@"; do name=${spec%%=*}; [ -x "$TOOLS/$name-$version-$k" ] || { missing+=("$name"); pkgs+=("${spec#*=}"); }; done
  if [ ${#missing[@]} -gt 0 ]; then
    say "building ${missing[*]} $version (cold builds take minutes on 2 cores; later runs reuse the Go build cache)"
    local out i; out=$(mktemp -d "$TOOLS/.build-XXXXXX")
    # One build per binary, named explicitly (a package path ending in /v3 would otherwise name it "server");
    # the later builds reuse the first one's compiled packages from the Go build cache.
    for i in "${!missing[@]}"; do
      (cd "$MODS/$mod" && go build -trimpath -ldflags "-s -w $ld" -o "$out/${missing[$i]}" "${pkgs[$i]}" >&2) \
        || { rm -rf "$out"; die "building ${missing[$i]} $version failed (see the go output above); check GOPROXY and the network"; }
    done
    for name in "${missing[@]}"; do mv "$out/$name" "$TOOLS/$name-$version-$k"; done
    rm -rf "$out"
  fi
  for spec in "$@"; do name=${spec%%=*}; ln -sf "$TOOLS/$name-$version-$k" "$BIN/$name"; done
}

minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
k8s_ld=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ld="$k8s_ld -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
build kubernetes "$KUBERNETES_VERSION" "$k8s_ld" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kube-proxy=k8s.io/kubernetes/cmd/kube-proxy
build etcd "$ETCD_VERSION" "" etcd=go.etcd.io/etcd/server/v3
build kwok "$KWOK_VERSION" "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  kwok=sigs.k8s.io/kwok/cmd/kwok kwokctl=sigs.k8s.io/kwok/cmd/kwokctl
build helm "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
  helm=helm.sh/helm/v3/cmd/helm
# Our own: runs `helm template` for the Go-template chart renderer and prints its documents as JSON (docs/render.md).
build mooring-helm "$HELM_VERSION" "" mooring-helm=mooring.dev/tools/mooring-helm
# Toxiproxy: the TCP proxy the fault-injection suite (test/faults, `make faults`) cuts and slows connections with.
build toxiproxy "$TOXIPROXY_VERSION" "-X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" \
  toxiproxy-server=github.com/Shopify/toxiproxy/v2/cmd/server
# The CNCF distribution registry: the OCI registry the HelmChart tests push charts to and pull them from.
build registry "$REGISTRY_VERSION" "-X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" \
  registry=github.com/distribution/distribution/v3/cmd/registry

say "ready in $BIN"
echo "$BIN"

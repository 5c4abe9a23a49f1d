#!/usr/bin/env bash
# Builds the pinned Kubernetes control-plane binaries, etcd, kwok/kwokctl and helm from the Go module proxy,
# into a cache outside the clone so every clone (and CI) reuses them. Idempotent: a binary already built for
# its pinned version is not rebuilt. Prints the directory of the binaries on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
TOOLS="$CACHE/tools"
BUILD="$CACHE/build"
BIN="$CACHE/bin"
mkdir -p "$TOOLS" "$BUILD" "$BIN"

say() { echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed; install Go 1.26+ (https://go.dev/dl or 'apt-get install golang') and run 'make tools' again"
gov=$(go env GOVERSION); gov=${gov#go}
if [ "$(printf '%s\n' 1.26 "$gov" | sort -V | head -n1)" != 1.26 ]; then
  die "Go $gov is too old: Kubernetes $KUBERNETES_VERSION needs Go 1.26+; install a newer Go and run 'make tools' again"
fi
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
proxy=$(go env GOPROXY | cut -d, -f1)
if [ "$proxy" != "off" ] && [ "$proxy" != "direct" ] && command -v curl >/dev/null 2>&1; then
  curl -fsS --max-time 20 -o /dev/null "$proxy/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.info" 2>/dev/null \
    || [ -n "$(ls "$TOOLS" 2>/dev/null)" ] \
    || die "the Go module proxy $proxy is unreachable (GOPROXY=$(go env GOPROXY)); check the network or set GOPROXY, then run 'make tools' again"
fi

have() { [ -x "$TOOLS/$1-$2" ]; }
link() { ln -sf "$TOOLS/$1-$2" "$BIN/$1"; }
step() { say "building $1 $2 (cold builds take minutes on 2 cores; later runs reuse the Go build cache)"; }

# --- Kubernetes: a wrapper module that replaces each staging module with its published v0.Y.Z ---
k8s_bins="kube-apiserver kube-controller-manager kube-scheduler"
need_k8s=0
for b in $k8s_bins; do have "$b" "$KUBERNETES_VERSION" || need_k8s=1; done
if [ $need_k8s = 1 ]; then
  step kubernetes "$KUBERNETES_VERSION"
  minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  dir="$BUILD/kubernetes-$KUBERNETES_VERSION"; mkdir -p "$dir"
  gomod=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION from the Go module proxy"
  {
    echo "module mooring.dev/tools/kubernetes"
    grep -m1 '^go ' "$gomod"
    grep -m1 '^godebug' "$gomod" || true
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | grep '=> ./staging' | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$dir/go.mod"
  (cd "$dir" && go get k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler >&2) \
    || die "resolving k8s.io/kubernetes $KUBERNETES_VERSION failed (see the go output above); check GOPROXY and the network"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  out="$dir/out"; mkdir -p "$out"
  (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$out/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler >&2) \
    || die "building Kubernetes $KUBERNETES_VERSION failed (see the go output above)"
  for b in $k8s_bins; do mv "$out/$b" "$TOOLS/$b-$KUBERNETES_VERSION"; done
fi
for b in $k8s_bins; do link "$b" "$KUBERNETES_VERSION"; done

# --- etcd: its server module has replace directives too, so it is built as a dependency of a wrapper ---
if ! have etcd "$ETCD_VERSION"; then
  step etcd "$ETCD_VERSION"
  dir="$BUILD/etcd-$ETCD_VERSION"; mkdir -p "$dir"
  printf 'module mooring.dev/tools/etcd\n\ngo 1.23\n' > "$dir/go.mod"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 && go build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3 >&2) \
    || die "building etcd $ETCD_VERSION failed (see the go output above); check GOPROXY and the network"
  mv "$dir/etcd" "$TOOLS/etcd-$ETCD_VERSION"
fi
link etcd "$ETCD_VERSION"

# --- kwok, kwokctl, helm: plain go install works (no replace directives in their tags) ---
gobin_install() { # name version package ldflags
  local name=$1 version=$2 pkg=$3 ld=${4:-}
  if ! have "$name" "$version"; then
    step "$name" "$version"
    local gb="$BUILD/gobin-$name-$version"; mkdir -p "$gb"
    GOBIN="$gb" go install -trimpath -ldflags "-s -w $ld" "$pkg@$version" >&2 || die "building $name $version failed (see the go output above); check GOPROXY and the network"
    mv "$gb/$name" "$TOOLS/$name-$version"
  fi
  link "$name" "$version"
}
gobin_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
gobin_install kwokctl "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwokctl "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
helm_minor=${KUBERNETES_VERSION#v1.}; helm_minor=${helm_minor%%.*}
gobin_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$helm_minor"

say "ready in $BIN"
echo "$BIN"

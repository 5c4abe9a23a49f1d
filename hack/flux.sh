#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller at pinned releases from the Go module proxy, for the
# side-by-side benchmark (bench/pipeline.ts, `make bench-flux`). Not part of `make tools`: the test suite does not
# need Flux, and a cold build of both takes minutes. Cached outside the clone like every tool; idempotent.
#
# Each controller is built from a committed wrapper module, hack/tools/flux-<name>/go.mod + go.sum (with -mod=readonly),
# which carries the replace directives of the controller's own go.mod (they apply only in a main module). The
# wrappers' go.mod say what differs from upstream and why.
# Prints the directory of the binaries on the last line of stdout, and where each controller's CRDs are on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FLUX_VERSION=v1.9.6 # source-controller and kustomize-controller (Flux v2.9); the newest whose go.mod Go 1.26 satisfies
MODS="$here/tools"
CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
OUT="$CACHE/flux"
mkdir -p "$OUT"

say() { echo "flux: $*" >&2; }
die() { echo "flux: error: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || die "Go is not installed; install Go 1.26+ and run 'make bench-flux' again"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off

for name in source-controller kustomize-controller; do
  mod="$MODS/flux-$name"
  key=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-12)
  bin="$OUT/$name-$FLUX_VERSION-$key"
  if [ ! -x "$bin" ]; then
    say "building $name $FLUX_VERSION (a cold build takes several minutes on 2 cores)"
    (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin.tmp" "github.com/fluxcd/$name" >&2) || { rm -f "$bin.tmp"; die "building $name failed (see above); check GOPROXY and the network"; }
    mv "$bin.tmp" "$bin"
  fi
  ln -sf "$bin" "$OUT/$name"
  # The CRDs ship in the controller's module (config/crd/bases); bench/pipeline.ts installs them from there.
  crds=$(cd "$mod" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$name")/config/crd/bases
  [ -d "$crds" ] || die "no CRDs in $crds"
  ln -sfn "$crds" "$OUT/$name-crds"
done
say "ready in $OUT"
echo "$OUT"

#!/usr/bin/env bash
# The quickstart for `make run` with no KUBECONFIG: serves examples/quickstart/ as a git repository on a loopback git
# server, applies examples/quickstart/quickstart.yaml (a GitRepository and three Applications) with that server's
# URL, prints what to run next, and keeps serving until it is stopped (SIGINT/SIGTERM), stopping the server with it.
#
#   bash hack/quickstart.sh          needs KUBECONFIG pointing at the cluster the operator runs against
#
# hack/run.sh starts it in the background next to the operator. The repository lives in
# $MOORING_CACHE/quickstart/work (a git work tree whose origin is the served bare repository): edit, commit and
# `git push` there to watch Mooring sync the change. It is created once from examples/quickstart/ and kept across
# runs; delete that directory to start again from the examples.
#
# Environment: KUBECONFIG (required), MOORING_QUICKSTART_GIT_PORT (default 19418), MOORING_CACHE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
STATE="$CACHE/quickstart"
PORT=${MOORING_QUICKSTART_GIT_PORT:-19418}
URL="http://127.0.0.1:$PORT/quickstart.git"
say() { echo "quickstart: $*" >&2; }
die() { echo "quickstart: error: $*" >&2; exit 1; }

[ -n "${KUBECONFIG:-}" ] || die "KUBECONFIG is not set; run it through 'make run' or point KUBECONFIG at a cluster"
command -v git >/dev/null || die "git is not installed (apt-get install git)"
command -v kubectl >/dev/null || die "kubectl is not installed"

# A fixed identity for the quickstart's own commits only; a user's later commits use their own git config.
qgit() { git -c user.name="Mooring quickstart" -c user.email="quickstart@mooring.invalid" -c init.defaultBranch=main "$@"; }

# 1. The repository: a bare one (served) and a work tree (yours to edit), made once from the examples.
mkdir -p "$STATE/repos"
if [ ! -d "$STATE/repos/quickstart.git" ]; then
  qgit init -q --bare "$STATE/repos/quickstart.git"
fi
if [ ! -d "$STATE/work/.git" ]; then
  rm -rf "$STATE/work"
  mkdir -p "$STATE/work"
  cp -R "$root/examples/quickstart/plain" "$root/examples/quickstart/kustomize" "$root/examples/quickstart/chart" "$STATE/work/"
  qgit -C "$STATE/work" init -q -b main
  qgit -C "$STATE/work" add -A
  qgit -C "$STATE/work" commit -q -m "quickstart: plain manifests, a Kustomize overlay and a Handlebars chart"
  qgit -C "$STATE/work" remote add origin "$STATE/repos/quickstart.git"
  say "created the repository from examples/quickstart in $STATE/work"
fi
qgit -C "$STATE/work" push -q origin HEAD:main

# 2. The git server, stopped with this script.
# node itself (with tsx's loader, resolved from the repository), so $! is the server and a signal reaches it directly.
(cd "$root" && exec node --import tsx hack/quickstart-git.ts --root "$STATE/repos" --port "$PORT") &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if git ls-remote "$URL" >/dev/null 2>&1; then break; fi
  kill -0 "$server" 2>/dev/null || die "the git server did not start (see its message above)"
  sleep 0.2
done
git ls-remote "$URL" >/dev/null 2>&1 || die "the git server at $URL does not answer after 20s"

# 3. The objects, once the CRDs are there (the operator installs them at start-up under `make run`).
for _ in $(seq 1 120); do
  if kubectl get crd gitrepositories.source.mooring.dev applications.delivery.mooring.dev >/dev/null 2>&1; then break; fi
  sleep 1
done
kubectl wait --for=condition=Established crd/gitrepositories.source.mooring.dev crd/applications.delivery.mooring.dev --timeout=60s >/dev/null \
  || die "Mooring's CRDs are not installed after 2 minutes; install them with 'kubectl apply -f crds/'"
sed "s#http://127.0.0.1:19418/quickstart.git#$URL#" "$root/examples/quickstart/quickstart.yaml" | kubectl apply -f - >&2

mooring="$root/node_modules/.bin/tsx $root/src/cli/main.ts"
cat >&2 <<EOF

quickstart: serving $STATE/work at $URL
quickstart: applied a GitRepository and three Applications (plain, kustomize, helm) in namespace "quickstart".

  Watch them become Ready (within a minute):
    export KUBECONFIG=$KUBECONFIG
    alias mooring='$mooring'
    kubectl get mooring -n quickstart
    kubectl wait -n quickstart --for=condition=Ready mapp --all --timeout=2m
    mooring get apps -n quickstart
    mooring tree hello -n quickstart

  Make a change and watch it sync:
    cd $STATE/work
    sed -i 's/Hello from Mooring/Hello again/' plain/configmap.yaml
    git commit -am "a new greeting" && git push origin HEAD:main
    mooring reconcile gitrepo quickstart -n quickstart --wait   # fetch now instead of within 30s
    kubectl get mapp -n quickstart -w

  The walkthrough: docs/quickstart.md
EOF

wait "$server"

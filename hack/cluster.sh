#!/usr/bin/env bash
# The local Kubernetes cluster: real etcd, kube-apiserver, kube-controller-manager and kube-scheduler built by
# hack/tools.sh, with kwok faking the nodes (Pods are scheduled and become Running/Ready without containers).
#
#   cluster.sh up [NAME]                 start (or reuse) the cluster; the last stdout line is its kubeconfig path
#   cluster.sh down [NAME]               delete it and make sure no process is left behind
#   cluster.sh status [NAME]             prints running | stopped | absent
#   cluster.sh kubeconfig [NAME]         prints the kubeconfig path
#   cluster.sh restart-apiserver [NAME] [SECONDS]   kill kube-apiserver, wait, start it again (for resilience tests)
#
# Set MOORING_APISERVER_PORT to pin the API server port (default: a free port picked by kwokctl).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
CACHE=${MOORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mooring}
BIN="$CACHE/bin"
verb=${1:-}; name=${2:-mooring}
workdir=${KWOK_WORKDIR:-$HOME/.kwok}
dir="$workdir/clusters/$name"
kubeconfig="$dir/kubeconfig.yaml"

say() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

[[ "$name" =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die "invalid cluster name '$name' (lowercase letters, digits and '-')"

need_tools() {
  for b in kwokctl kwok etcd kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$BIN/$b" ] || die "$b is not built yet; run 'make tools' (it builds the pinned binaries into $BIN)"
  done
}

healthy() {
  [ -f "$kubeconfig" ] && kubectl --kubeconfig "$kubeconfig" --request-timeout=3s get --raw /readyz >/dev/null 2>&1
}

status() {
  if [ ! -d "$dir" ]; then echo absent; elif healthy; then echo running; else echo stopped; fi
}

pids() { # every process started for this cluster (its binaries run with paths inside the cluster dir)
  pgrep -f -- "$dir/" 2>/dev/null || true
}

down() {
  if [ -d "$dir" ]; then
    say "deleting cluster $name"
    "$BIN/kwokctl" delete cluster --name "$name" >>"$CACHE/cluster-$name.log" 2>&1 || say "kwokctl delete failed; cleaning up by hand"
  fi
  local p; p=$(pids)
  if [ -n "$p" ]; then kill $p 2>/dev/null || true; sleep 1; p=$(pids); [ -z "$p" ] || kill -9 $p 2>/dev/null || true; fi
  rm -rf "$dir"
}

# kube-controller-manager and kube-scheduler exit when the API server is not healthy soon enough after their start
# (its rbac/bootstrap-roles hook is slow on a loaded machine), and kwokctl does not restart them: a cluster without
# its controller manager has no default ServiceAccounts, no garbage collection. Start again any that is not running.
revive() {
  local comp pidfile line
  for comp in kube-controller-manager kube-scheduler; do
    pidfile="$dir/pids/$comp.pid"
    if [ -f "$pidfile" ] && [ -d "/proc/$(cat "$pidfile")" ]; then continue; fi
    line=$(python3 - "$dir/kwok.yaml" "$comp" <<'PY'
import sys, yaml, shlex
for doc in yaml.safe_load_all(open(sys.argv[1])):
    for c in (doc or {}).get("components") or []:
        if c.get("name") == sys.argv[2]:
            print(shlex.join([c.get("workDir", "."), c["binary"], *c.get("args", [])]))
PY
)
    [ -n "$line" ] || { say "no $comp in $dir/kwok.yaml; cannot restart it"; continue; }
    local -a cmd; eval "cmd=($line)"
    say "$comp of $name is not running; starting it again"
    (cd "${cmd[0]}" || exit 1; setsid nohup "${cmd[@]:1}" >>"$dir/logs/$comp.log" 2>&1 </dev/null & echo $! > "$pidfile")
  done
}

# The controller manager works: the default namespace has its ServiceAccount (reviving it once more if it died again).
controllers_ready() {
  local i
  for i in $(seq 1 90); do
    kubectl --kubeconfig "$kubeconfig" --request-timeout=5s get serviceaccount default -n default >/dev/null 2>&1 && return 0
    revive; sleep 1
  done
  die "the controller manager of $name created no default ServiceAccount within 90s (log: $dir/logs/kube-controller-manager.log)"
}

up() {
  need_tools
  case $(status) in
    running) say "reusing running cluster $name"; revive; echo "$kubeconfig"; return ;;
    stopped) say "found a stale cluster $name from an earlier run (not answering); recreating it"; down ;;
  esac
  command -v kubectl >/dev/null || die "kubectl is not installed; install it (apt-get install kubectl, or from your distribution)"
  local port_args=()
  if [ -n "${MOORING_APISERVER_PORT:-}" ]; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$MOORING_APISERVER_PORT") 2>/dev/null; then
      die "port $MOORING_APISERVER_PORT (MOORING_APISERVER_PORT) is already in use; free it or choose another port"
    fi
    port_args=(--kube-apiserver-port "$MOORING_APISERVER_PORT")
  fi
  # MOORING_KCM_QPS raises kube-controller-manager's client limit (default 20 qps, burst 30), for benchmarks whose
  # figures would otherwise measure how fast it writes Deployment status (make bench-flux, docs/performance.md).
  local kcm_args=()
  if [ -n "${MOORING_KCM_QPS:-}" ]; then
    kcm_args=(--extra-args "kube-controller-manager=kube-api-qps=$MOORING_KCM_QPS" --extra-args "kube-controller-manager=kube-api-burst=$((MOORING_KCM_QPS * 2))")
  fi
  # One controller manager and one scheduler per cluster: no leader election, which on a loaded machine is lost (a
  # renewal late by seconds) and makes them exit, never to be restarted by kwokctl (see revive).
  # Service IPs get a range of their own: kwok hands out Pod IPs from the node's podCIDR 10.0.0.0/24, which is also
  # kube-apiserver's default Service range, so a Pod could get a Service's IP (the first one gets 10.0.0.1, the
  # kubernetes Service). And the kubernetes Service's IP goes into the serving certificate, so Pods (the process node,
  # test/support/process-node.ts) verify the API server at KUBERNETES_SERVICE_HOST exactly as a kubelet sets it.
  local kwok_config="$CACHE/kwokctl-$name.yaml"
  printf '%s\n' 'apiVersion: config.kwok.x-k8s.io/v1alpha1' 'kind: KwokctlConfiguration' 'options:' '  kubeApiserverCertSANs:' '  - 10.96.0.1' > "$kwok_config"
  local start=$SECONDS
  say "creating cluster $name (Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  if ! "$BIN/kwokctl" create cluster --name "$name" --runtime binary --kubeconfig "" \
      --kube-apiserver-binary "$BIN/kube-apiserver" \
      --kube-controller-manager-binary "$BIN/kube-controller-manager" \
      --kube-scheduler-binary "$BIN/kube-scheduler" \
      --kwok-controller-binary "$BIN/kwok" \
      --etcd-binary "$BIN/etcd" \
      --kube-authorization --kube-admission \
      -c "$kwok_config" --extra-args kube-apiserver=service-cluster-ip-range=10.96.0.0/16 \
      --extra-args kube-controller-manager=leader-elect=false --extra-args kube-scheduler=leader-elect=false \
      "${kcm_args[@]}" "${port_args[@]}" --wait 90s >"$CACHE/cluster-$name.log" 2>&1; then
    tail -n 20 "$CACHE/cluster-$name.log" >&2
    down >/dev/null 2>&1 || true
    die "kwokctl could not create cluster $name (full log: $CACHE/cluster-$name.log)"
  fi
  "$BIN/kwokctl" scale node --name "$name" --replicas 1 >>"$CACHE/cluster-$name.log" 2>&1 || die "could not create the fake node (log: $CACHE/cluster-$name.log)"
  kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready node --all --timeout=60s >/dev/null \
    || die "the fake node did not become Ready within 60s (log: $CACHE/cluster-$name.log)"
  controllers_ready
  say "cluster $name is up in $((SECONDS - start))s; kubeconfig:"
  echo "$kubeconfig"
}

restart_apiserver() {
  local pause=${3:-2} pidfile="$dir/pids/kube-apiserver.pid" pid cwd
  [ -f "$pidfile" ] || die "no kube-apiserver pid file for cluster $name ($pidfile); is it running?"
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] || die "kube-apiserver (pid $pid) of cluster $name is not running"
  local -a cmd; mapfile -d '' cmd < "/proc/$pid/cmdline"; cwd=$(readlink "/proc/$pid/cwd")
  # SIGKILL, not SIGTERM: a terminating apiserver keeps serving open watches while it drains, hiding the break
  # that resilience tests want clients to see.
  say "killing kube-apiserver (pid $pid) of $name for ${pause}s"
  kill -KILL "$pid"; for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  sleep "$pause"
  # Background only the apiserver itself, so the pid file names it and no wrapper holds the caller's stdout.
  (cd "$cwd" || exit 1; setsid nohup "${cmd[@]}" >>"$dir/logs/kube-apiserver.log" 2>&1 </dev/null & echo $! > "$pidfile")
  for _ in $(seq 1 300); do healthy && { say "kube-apiserver is back"; return; }; sleep 0.1; done
  die "kube-apiserver of $name did not come back within 30s"
}

case $verb in
  up) up ;;
  down) down; say "cluster $name is gone" ;;
  status) status ;;
  kubeconfig) [ -f "$kubeconfig" ] || die "cluster $name has no kubeconfig; run 'make cluster'"; echo "$kubeconfig" ;;
  restart-apiserver) restart_apiserver "$@" ;;
  *) die "usage: cluster.sh up|down|status|kubeconfig|restart-apiserver [NAME]" ;;
esac

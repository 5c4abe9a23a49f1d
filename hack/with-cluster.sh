#!/usr/bin/env bash
# Runs a command with the local test cluster up: reuses a running one, else starts it and stops it at exit
# (even on failure), so a test run leaves no process behind. Exports MOORING_TEST_KUBECONFIG for the harness.
set -euo pipefail
name=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
started=0
if [ "$(bash "$here/cluster.sh" status "$name" 2>/dev/null)" != running ]; then started=1; fi
cleanup() { if [ $started = 1 ]; then bash "$here/cluster.sh" down "$name" >&2 || true; fi; }
trap cleanup EXIT
kubeconfig=$(bash "$here/cluster.sh" up "$name" | tail -n 1)
export MOORING_TEST_KUBECONFIG=$kubeconfig MOORING_TEST_CLUSTER=$name
"$@"

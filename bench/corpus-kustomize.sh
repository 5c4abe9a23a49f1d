#!/usr/bin/env bash
# Compares Mooring's kustomize renderer with `kubectl kustomize` on the real-world corpus
# (../shared/corpora/kustomize-real, or $KUSTOMIZE_CORPUS): runs its compare.py, which renders every case with
# `mooring render` and with `kubectl kustomize` and prints one line per case, then "N passed, M failed".
#
#   bench/corpus-kustomize.sh [--strict] [case-id...]      (make corpus)
#
# `mooring render` is run from this checkout's sources (through tsx, so no build is needed) with --show-secrets:
# compare.py compares Secret values, which `mooring render` otherwise prints as ***.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/.." && pwd)"

if [[ "${1:-}" == "--as-mooring" ]]; then
  # compare.py calls: <this> --as-mooring render <root> --type kustomize -o yaml --root <case dir>
  shift
  exec node --import tsx "$project/src/cli/main.ts" "$@" --show-secrets
fi

corpus="${KUSTOMIZE_CORPUS:-$project/../shared/corpora/kustomize-real}"
if [[ ! -f "$corpus/compare.py" ]]; then
  echo "corpus-kustomize: no corpus at $corpus (expected compare.py there);" >&2
  echo "  clone or copy the real-world kustomize corpus there, or set KUSTOMIZE_CORPUS to its directory" >&2
  exit 2
fi
command -v kubectl >/dev/null || { echo "corpus-kustomize: kubectl is required (the oracle is kubectl kustomize)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "corpus-kustomize: python3 is required to run compare.py" >&2; exit 2; }
cd "$project"
exec python3 "$corpus/compare.py" --mooring "bash $here/corpus-kustomize.sh --as-mooring" "$@"

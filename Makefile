# Mooring: every task a developer or CI runs. `make test` and `make run` do all set-up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

MOORING_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mooring
export MOORING_CACHE
export PATH := $(MOORING_CACHE)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

NODE_TEST := node --import tsx --test --test-reporter=spec
UNIT_TESTS = $(shell find test/unit -name '*.test.ts' 2>/dev/null | sort)
INTEGRATION_TESTS = $(shell find test/integration test/security examples -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
E2E_TESTS = $(shell find e2e -name '*.test.ts' 2>/dev/null | sort)
TEST_CLUSTER ?= mooring-test
# bench/apply-operator.ts is started by apply-scale; bench/render-kustomize-diff.ts is a comparison tool.
BENCHMARKS = runtime-queue runtime-informer source-fetch render-kustomize render-helm apply-scale drift-latency

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null || { echo "make: Node.js 20+ is required (apt-get install nodejs, or https://nodejs.org)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## install npm dependencies from the lock file

.PHONY: tools
tools: ## build the pinned Kubernetes, etcd, kwok and helm binaries (cached in ~/.cache/mooring)
	@bash hack/tools.sh >/dev/null

.PHONY: node-deps
node-deps: ## Debian packages the process node needs (iptables, conntrack, tini), installed only when missing
	@bash hack/process-node-deps.sh

.PHONY: cluster
cluster: tools ## start the local cluster (kwok fake nodes) and print its kubeconfig path
	@bash hack/cluster.sh up $(or $(CLUSTER),mooring)

.PHONY: cluster-down
cluster-down: ## stop the local cluster and remove its processes
	@bash hack/cluster.sh down $(or $(CLUSTER),mooring)

.PHONY: generate
generate: deps ## regenerate crds/ (and the chart's copy) from the schemas in src/api
	@if [ -f hack/generate.ts ]; then tsx hack/generate.ts; fi

.PHONY: build
build: deps ui ## compile TypeScript to dist/ (and the web UI's bundle to dist/ui)
	tsc -p tsconfig.build.json

.PHONY: ui
ui: deps ## build the web UI's bundle (src/ui/client -> dist/ui) with the pinned esbuild
	tsx hack/build-ui.ts

.PHONY: browser-deps
browser-deps: ## Debian's chromium for the UI's browser tests, installed only when missing
	@bash hack/browser-deps.sh

.PHONY: typecheck
typecheck: deps
	tsc -p tsconfig.json --noEmit
	tsc -p src/ui/client/tsconfig.json --noEmit

.PHONY: lint
lint: deps
	eslint --max-warnings=0 .

.PHONY: unit
unit: deps ## unit tests (no cluster)
	$(NODE_TEST) $(UNIT_TESTS)

.PHONY: integration
integration: deps tools node-deps browser-deps ## integration tests against the real local cluster
	bash hack/with-cluster.sh $(TEST_CLUSTER) $(MAKE) --no-print-directory integration-only

.PHONY: integration-only
integration-only:
	$(NODE_TEST) --test-concurrency=2 $(INTEGRATION_TESTS)

.PHONY: e2e
e2e: deps tools node-deps ## end-to-end suite on the local cluster (the chart as installed, its Pods run by the process node)
	bash hack/with-cluster.sh $(TEST_CLUSTER) $(MAKE) --no-print-directory e2e-only

.PHONY: e2e-only
e2e-only:
	@if [ -n "$(E2E_TESTS)" ]; then $(NODE_TEST) --test-concurrency=1 $(E2E_TESTS); fi

.PHONY: test
test: deps tools node-deps browser-deps ## the whole suite: typecheck, lint, unit, integration, e2e, bounded faults (faults-smoke)
	$(MAKE) --no-print-directory typecheck lint unit
	bash hack/with-cluster.sh $(TEST_CLUSTER) $(MAKE) --no-print-directory integration-only e2e-only faults-smoke-only

# The control-plane faults kill the cluster's API server and etcd, and the failover test loads it with 300
# Applications and two operators: they run alone, one after the other, after the others (which share the cluster,
# each in a namespace of its own with an operator of its own).
FAULT_TESTS_ALONE = test/faults/control-plane.test.ts test/faults/failover.test.ts test/faults/sharding.test.ts
FAULT_TESTS = $(filter-out $(FAULT_TESTS_ALONE),$(shell find test/faults -name '*.test.ts' 2>/dev/null | sort))
FAULT_CLUSTER ?= mooring-faults
FUZZ_SECONDS ?= 60

# The bounded fault mode, part of `make test`: the crash test with FAULT_SMOKE_KILLS (<syncs>,<deletions>) operator
# SIGKILLs, plus its two kills between an apply and the inventory record, on the test cluster (its own namespace and
# operator), so every run exercises the operator-kill path. `make faults` is the long mode (every fault file).
FAULT_SMOKE_KILLS ?= 3,1

.PHONY: faults-smoke
faults-smoke: deps tools ## bounded fault mode (part of make test): the crash test with FAULT_SMOKE_KILLS=3,1 kills on the test cluster (~1.5 min)
	bash hack/with-cluster.sh $(TEST_CLUSTER) $(MAKE) --no-print-directory faults-smoke-only

.PHONY: faults-smoke-only
faults-smoke-only:
	MOORING_FAULT_CRASH_KILLS=$(FAULT_SMOKE_KILLS) $(NODE_TEST) test/faults/crash.test.ts

.PHONY: faults
faults: deps tools ## long fault mode, on a cluster of its own: operator kills (14,4), API server/etcd restarts, network (Toxiproxy) and git faults, leader failover (≤ 17 min; docs/reliability.md)
	bash hack/with-cluster.sh $(FAULT_CLUSTER) bash -c 'rc=0; $(NODE_TEST) --test-concurrency=3 $(FAULT_TESTS) || rc=1; $(NODE_TEST) --test-concurrency=1 $(FAULT_TESTS_ALONE) || rc=1; exit $$rc'

.PHONY: fuzz
fuzz: deps ## fuzz every parser of untrusted input for FUZZ_SECONDS (default 60); findings under /tmp/mooring-fuzz-findings
	node --import tsx test/fuzz/run.ts --seconds $(FUZZ_SECONDS)

.PHONY: run
run: deps ## run the operator (with no KUBECONFIG: on the local cluster, started as needed)
	bash hack/run.sh

.PHONY: bench
bench: deps tools ## benchmarks (figures printed, side by side with the peer tool)
	bash hack/with-cluster.sh $(TEST_CLUSTER) bash -c 'failed=""; for b in $(BENCHMARKS); do echo "== $$b"; node --expose-gc --import tsx "bench/$$b.ts" || failed="$$failed $$b"; done; if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed" >&2; exit 1; fi'

# The full pipeline side by side with Flux (bench/pipeline.ts, docs/performance.md): hack/flux.sh builds Flux's
# source-controller and kustomize-controller from the Go module proxy (cached; not part of `make tools`), and both run
# against a cluster of their own. BENCH_N Applications (default 100); BENCH_ARGS for more (--steady, --latency, --tools).
# The cluster's kube-controller-manager runs at BENCH_KCM_QPS (default 300; empty for its own 20 qps, which then
# bounds both tools' time to Ready by how fast it writes Deployment status).
BENCH_N ?= 100
BENCH_KCM_QPS ?= 300
.PHONY: bench-flux
bench-flux: deps tools ## full pipeline, Mooring and Flux in one run on one cluster: time to Ready, steady state, commit latency, peak RSS, ratios
	bash hack/flux.sh >/dev/null
	MOORING_KCM_QPS=$(BENCH_KCM_QPS) bash hack/with-cluster.sh mooring-bench-kcm$(BENCH_KCM_QPS) node --import tsx bench/pipeline.ts $(BENCH_N) $(BENCH_ARGS)

# The real-world Helm corpus (read-only, outside the repository): 34 comparisons of `mooring render` with the pinned
# `helm template`. --show-secrets: the comparison needs Secret values, which `mooring render` masks by default.
HELM_CORPUS ?= ../shared/corpora/helm-real

.PHONY: corpus-helm
corpus-helm: deps tools ## compare Go-template charts with helm template on $(HELM_CORPUS), when it exists (CORPUS_ARGS: --strict, case ids)
	@if [ -f "$(HELM_CORPUS)/compare.py" ]; then \
	  MOORING_RENDER_ARGS='node --import tsx $(CURDIR)/src/cli/main.ts render {chart} --type helm --release {release} --namespace {namespace} {values} -o yaml --root {case} --show-secrets' \
	    python3 "$(HELM_CORPUS)/compare.py" $(CORPUS_ARGS); \
	else echo "corpus-helm: no corpus at $(HELM_CORPUS) (set HELM_CORPUS); nothing to compare"; fi

# The real-world Kustomize corpus (read-only, outside the repository): its compare.py renders 38 kustomizations with
# `mooring render` and `kubectl kustomize` and compares the objects (CORPUS_ARGS: --strict, case ids).
.PHONY: corpus
corpus: deps ## compare the kustomize renderer with kubectl kustomize on ../shared/corpora/kustomize-real (fails when it is missing)
	bash bench/corpus-kustomize.sh $(CORPUS_ARGS)

.PHONY: e2e-kind
e2e-kind: ## end-to-end suite on a kind cluster with the operator in-cluster (needs Docker; not run on our machines)
	bash hack/e2e-kind.sh

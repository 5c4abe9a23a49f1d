# syntax=docker/dockerfile:1
# Mooring's container image: one image, one entry point (`mooring`), default command `controller`.
# The chart picks the controllers with --controllers=source,render,apply (any subset).
# Build: docker build -t mooring:dev .   (hack/e2e-kind.sh does this for the kind end-to-end run)

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: full dependency tree, compile TypeScript to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY hack/build-ui.ts ./hack/build-ui.ts
# npm run build also bundles the web UI (src/ui/client -> dist/ui) with the pinned esbuild: `mooring ui` serves it.
RUN npm run build

# --- helm: the pinned Helm (Go-template charts are rendered by `helm template`, docs/render.md "Helm charts") and
# mooring-helm, which runs it under a memory limit and a deadline; built from the same committed wrapper modules
# (go.mod + go.sum, -mod=readonly) and ldflags as `make tools`, so the image renders what the tests checked ---
FROM golang:1.26-bookworm AS helm
WORKDIR /src
COPY hack/versions.env ./hack/versions.env
COPY hack/tools/helm ./hack/tools/helm
COPY hack/tools/mooring-helm ./hack/tools/mooring-helm
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" GOWORK=off
RUN . hack/versions.env \
 && minor=${KUBERNETES_VERSION#v1.} && minor=${minor%%.*} \
 && cd hack/tools/helm \
 && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" -o /out/helm helm.sh/helm/v3/cmd/helm \
 && cd ../mooring-helm \
 && go build -trimpath -ldflags "-s -w" -o /out/mooring-helm mooring.dev/tools/mooring-helm \
 && /out/helm version --short

# --- deps: production dependencies only, installed apart so npm's cache never reaches the runtime image ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

# --- runtime ---
FROM ${NODE_IMAGE}
# tini is PID 1: it forwards SIGTERM to node (which then stops its controllers cleanly) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOME=/tmp \
    MOORING_STORAGE_PATH=/data
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# helm and mooring-helm on PATH; the render controller runs helm from --helm-binary (MOORING_HELM_BINARY).
COPY --from=helm /out/helm /out/mooring-helm /usr/local/bin/
ENV MOORING_HELM_BINARY=/usr/local/bin/helm
# Artifacts live in a mounted volume (the chart mounts an emptyDir at /data, and one at /tmp), so the root
# filesystem can be read-only. 65532 is the conventional "nonroot" id; numeric so runAsNonRoot can verify it.
RUN mkdir -p /data && chown 65532:65532 /data
USER 65532:65532
EXPOSE 8080 8081 9090 9292
# --max-semi-space-size=2 (MiB): V8's young generation grows to 3 x 16 MiB by default and never gives the pages back;
# at 2 MiB the operator's peak RSS at 1,000 Applications fell from 155 to 125 MiB, CPU within the noise (docs/apply.md).
# bench/apply-scale.ts runs the operator with exactly the node flags of this line.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=2", "dist/src/cli/main.js"]
CMD ["controller"]

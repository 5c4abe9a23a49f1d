{{/* Names, labels and the list of workloads every other template iterates over. */}}

{{- define "mooring.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Object-name prefix; kept short so "<prefix>-leader-election" and Service names stay valid DNS labels. */}}
{{- define "mooring.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mooring.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mooring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mooring.labels" -}}
{{ include "mooring.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mooring
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "mooring.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The enabled controllers, in their canonical order, as a comma-separated string. */}}
{{- define "mooring.enabledControllers" -}}
{{- $names := list -}}
{{- range $c := list "source" "render" "apply" "notify" -}}
{{- if (index $.Values.controllers $c).enabled -}}{{- $names = append $names $c -}}{{- end -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/*
The workloads, as YAML under "items": one per enabled controller in split mode, one in all-in-one mode.
Each says which controllers it runs, its ServiceAccount, whether it serves artifacts (source, render)
and webhooks (source), and the Service other controllers reach its artifact server by.
*/}}
{{- define "mooring.workloads" -}}
{{- $full := include "mooring.fullname" . -}}
{{- $enabled := include "mooring.enabledControllers" . -}}
{{- if not $enabled -}}
{{- fail "controllers: enable at least one of controllers.source, controllers.render, controllers.apply, controllers.notify" -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "replicas: %d replicas need leaderElection.enabled=true, or the replicas would reconcile the same objects at once" (int .Values.replicas)) -}}
{{- end -}}
{{- $items := list -}}
{{- if eq .Values.mode "all-in-one" -}}
{{- $c := splitList "," $enabled -}}
{{- $artifact := or (has "source" $c) (has "render" $c) -}}
{{- $items = append $items (dict "name" $full "component" "all-in-one" "controllers" $enabled "serviceAccount" $full "artifact" $artifact "webhook" (has "source" $c) "apply" (has "apply" $c) "artifactService" (printf "%s-artifacts" $full) "resources" .Values.allInOne.resources) -}}
{{- else -}}
{{- range $c := splitList "," $enabled -}}
{{- $n := printf "%s-%s" $full $c -}}
{{- $items = append $items (dict "name" $n "component" $c "controllers" $c "serviceAccount" $n "artifact" (has $c (list "source" "render")) "webhook" (eq $c "source") "apply" (eq $c "apply") "artifactService" $n "resources" (index $.Values.controllers $c).resources) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end -}}

{{/*
The Deployments (each with its Lease and, when it serves artifacts, its artifact Service), as YAML under "items":
the workloads above, then, for each of sharding.shards, a copy of every workload for that shard (docs/scaling.md).
Each item adds "shard" ("" for the default shard) and "selector", the --watch-label-selector it runs with (empty when
there are no shards: the default output is unchanged). A shard's Deployment, Lease and artifact Service are named
"<workload>-<shard>", its Pods carry the component "<component>-<shard>" (so no other Deployment's selector matches
them) and the label mooring.dev/shard; its source and render controllers advertise the shard's own artifact Services,
so a shard's render fetches from its own source and its apply from its own render. ServiceAccounts and RBAC are shared.
The notify controller runs on the default shard only: it reads the Events of every shard's objects (Events carry no
shard label) and serves the Alerts and Providers, so a copy per shard would only duplicate its watches.
*/}}
{{- define "mooring.deployments" -}}
{{- $workloads := (include "mooring.workloads" . | fromYaml).items -}}
{{- $key := .Values.sharding.key -}}
{{- $shards := .Values.sharding.shards | default list -}}
{{- $items := list -}}
{{- if $shards -}}
{{- if not (regexMatch "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$" $key) -}}
{{- fail (printf "sharding.key: %q is not a valid label key" $key) -}}
{{- end -}}
{{- range $s := $shards -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" (toString $s)) -}}
{{- fail (printf "sharding.shards: %q is not a valid shard name (lower-case letters, digits and '-', as a DNS label, for the Deployment and Service names)" (toString $s)) -}}
{{- end -}}
{{- end -}}
{{- if ne (len $shards) (len (uniq $shards)) -}}
{{- fail "sharding.shards: shard names must be unique" -}}
{{- end -}}
{{- end -}}
{{- range $w := $workloads -}}
{{- $sel := "" -}}
{{- if $shards -}}{{- $sel = printf "%s notin (%s)" $key (join "," $shards) -}}{{- end -}}
{{- $items = append $items (merge (dict "shard" "" "selector" $sel) $w) -}}
{{- end -}}
{{- range $s := $shards -}}
{{- range $w := $workloads -}}
{{- $name := printf "%s-%s" $w.name $s -}}
{{- if gt (len (printf "%s-leader" $name)) 63 -}}
{{- fail (printf "sharding.shards: %q makes the name %q too long (its Service must be a DNS label of at most 63 characters); use a shorter shard name or fullnameOverride" $s $name) -}}
{{- end -}}
{{- $hook := printf "%s-webhook-%s" (include "mooring.fullname" $) $s -}}
{{- if and $w.webhook (gt (len $hook) 63) -}}
{{- fail (printf "sharding.shards: %q makes the webhook Service name %q too long (at most 63 characters); use a shorter shard name or fullnameOverride" $s $hook) -}}
{{- end -}}
{{- $controllers := without (splitList "," $w.controllers) "notify" -}}
{{- if $controllers -}}
{{- $items = append $items (merge (dict "name" $name "component" (printf "%s-%s" $w.component $s) "artifactService" (printf "%s-%s" $w.artifactService $s) "shard" $s "selector" (printf "%s=%s" $key $s) "controllers" (join "," $controllers)) $w) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end -}}

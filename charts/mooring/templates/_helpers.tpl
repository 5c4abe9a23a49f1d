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
{{- range $c := list "source" "render" "apply" -}}
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
{{- fail "controllers: enable at least one of controllers.source, controllers.render, controllers.apply" -}}
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

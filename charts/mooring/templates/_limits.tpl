{{- /*
Limits derived from the containers' memory limits and volume sizes, passed as flags, so that what a controller
may hold at once fits its container (docs/install.md, "Limits"; test/unit/chart/limits.test.ts checks the sums).

Memory: the container's limit (less storage.sizeLimit when the storage is in memory) is cut into shares: one for
the process itself (at least 64Mi); per render worker (renderWorkers, at most concurrency: the workers alive at
once) one for its heap and one for a Go-template chart's helm run (a subprocess of the worker); and per concurrent
reconcile (concurrency) one for each render result on its way to storage, each Git fetch and each
rendered-artifact download the controllers of this container may run.
  --render-worker-heap  one share (the worker's whole V8 heap; its helm run gets the same memory limit)
  --max-rendered-size   a quarter share of the render container and of the apply container (the result is parsed
                        and copied: about four times its size)
  --max-object-size     a quarter share (a fetch holds an object, a delta base, a delta result and cache)
/tmp: cut into concurrency+1 Git fetches (--max-source-size, the pack on disk) and renderKeepSources +
2*concurrency extracted sources (--max-extracted-size; kept ones, ones in use, and downloads in progress).
Storage: --max-storage-size is 90% of storage.sizeLimit (the artifacts, both controllers together).
*/}}

{{/* A Kubernetes quantity ("512Mi", "1Gi", "1.5G", 1048576) in bytes, as an integer string. */}}
{{- define "mooring.bytes" -}}
{{- $q := toString . -}}
{{- $n := regexFind "^[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?" $q -}}
{{- $u := trimPrefix $n $q -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- if not (hasKey $units $u) -}}
{{- fail (printf "cannot read %q as a size in bytes (use e.g. 512Mi or 1Gi)" $q) -}}
{{- end -}}
{{- printf "%d" (int64 (floor (mulf (float64 $n) (index $units $u)))) -}}
{{- end -}}

{{/* Bytes as a flag value, rounded down to whole MiB. */}}
{{- define "mooring.mib" -}}
{{- printf "%dMi" (div (int64 .) 1048576) -}}
{{- end -}}

{{/* The memory limit of a workload's container in bytes ("0" when it has none). */}}
{{- define "mooring.memoryLimit" -}}
{{- $limits := (default dict (default dict .resources).limits) -}}
{{- if $limits.memory -}}{{ include "mooring.bytes" $limits.memory }}{{- else -}}0{{- end -}}
{{- end -}}

{{/*
The memory share of a workload (dict root, w): its memory limit divided by 1 + concurrency × (1 with render, +1
with source, +1 with apply) + 2 × render workers (with render; at most concurrency), the process keeping at least
64Mi (its caches) before the rest is shared; "0" when it has no memory limit or none of that work (the notify
controller alone). A limit too small for the concurrency fails the install, naming both.
*/}}
{{- define "mooring.memoryShare" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $c := splitList "," $w.controllers -}}
{{- $mem := int64 (include "mooring.memoryLimit" $w) -}}
{{- if and $w.artifact (eq $root.Values.storage.medium "Memory") -}}
{{- $mem = sub $mem (int64 (include "mooring.bytes" $root.Values.storage.sizeLimit)) -}}
{{- end -}}
{{- $per := 0 -}}
{{- $workers := 0 -}}
{{- if has "render" $c }}{{ $per = add $per 1 }}{{ $workers = include "mooring.renderWorkers" $root }}{{ end -}}
{{- if has "source" $c }}{{ $per = add $per 1 }}{{ end -}}
{{- if has "apply" $c }}{{ $per = add $per 1 }}{{ end -}}
{{- $n := add (mul (int64 $root.Values.concurrency) $per) (mul 2 (int64 $workers)) -}}
{{- /* No concurrent render, fetch or download (the notify controller alone): nothing to derive. */ -}}
{{- if or (le $mem 0) (eq (int64 $n) 0) -}}0{{- else -}}
{{- $process := max (div $mem (add 1 $n)) 67108864 -}}
{{- $share := div (sub $mem $process) $n -}}
{{- if lt $share 16777216 -}}
{{- fail (printf "%s: a memory limit of %dMi is too small for concurrency %d (each concurrent render, fetch or download needs at least 16Mi beside the process's 64Mi); raise the memory limit or lower concurrency" $w.controllers (div $mem 1048576) (int64 $root.Values.concurrency)) -}}
{{- end -}}
{{- $share -}}
{{- end -}}
{{- end -}}

{{/* Render workers alive at once: renderWorkers, at most concurrency (more could never all be busy). */}}
{{- define "mooring.renderWorkers" -}}
{{- min (int64 .Values.renderWorkers) (int64 .Values.concurrency) -}}
{{- end -}}

{{/* The flags of one workload (dict root, w), one "- --flag=value" per line. */}}
{{- define "mooring.limitArgs" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $c := splitList "," $w.controllers -}}
{{- $conc := int64 $root.Values.concurrency -}}
{{- $keep := int64 $root.Values.limits.renderKeepSources -}}
{{- $share := int64 (include "mooring.memoryShare" .) -}}
{{- $tmp := int64 (include "mooring.bytes" $root.Values.tmp.sizeLimit) -}}
{{- $units := 0 -}}
{{- if has "source" $c }}{{ $units = add $units (add $conc 1) }}{{ end -}}
{{- if has "render" $c }}{{ $units = add $units (add $keep (mul 2 $conc)) }}{{ end -}}
{{- $args := list -}}
{{- if has "source" $c -}}
{{- $args = append $args (printf "--max-source-size=%s" (include "mooring.mib" (div $tmp $units))) -}}
{{- if gt $share 0 -}}
{{- $args = append $args (printf "--max-object-size=%s" (include "mooring.mib" (div $share 4))) -}}
{{- end -}}
{{- end -}}
{{- if has "render" $c -}}
{{- $args = append $args (printf "--max-extracted-size=%s" (include "mooring.mib" (div $tmp $units))) -}}
{{- $args = append $args (printf "--render-keep-sources=%d" $keep) -}}
{{- $args = append $args (printf "--render-workers=%s" (include "mooring.renderWorkers" $root)) -}}
{{- $out := 0 -}}
{{- if gt $share 0 -}}
{{- $args = append $args (printf "--render-worker-heap=%s" (include "mooring.mib" $share)) -}}
{{- $out = div $share 4 -}}
{{- end -}}
{{- /* The rendered output is downloaded and parsed by the apply controller too: a quarter of its share at most. */ -}}
{{- if and (eq $root.Values.mode "split") $root.Values.controllers.apply.enabled -}}
{{- $applyShare := int64 (include "mooring.memoryShare" (dict "root" $root "w" (dict "controllers" "apply" "artifact" false "resources" $root.Values.controllers.apply.resources))) -}}
{{- if and (gt $applyShare 0) (or (eq $out 0) (lt (div $applyShare 4) $out)) }}{{ $out = div $applyShare 4 }}{{ end -}}
{{- end -}}
{{- if gt $out 0 -}}
{{- $args = append $args (printf "--max-rendered-size=%s" (include "mooring.mib" $out)) -}}
{{- end -}}
{{- if $root.Values.rbac.render.watchSecrets -}}
{{- $args = append $args "--watch-secrets" -}}
{{- end -}}
{{- end -}}
{{- if $w.artifact -}}
{{- $storage := int64 (include "mooring.bytes" $root.Values.storage.sizeLimit) -}}
{{- $args = append $args (printf "--max-storage-size=%s" (include "mooring.mib" (div (mul $storage 9) 10))) -}}
{{- end -}}
{{- range $i, $a := $args }}{{ if $i }}{{ "\n" }}{{ end }}- {{ $a }}{{ end -}}
{{- end -}}

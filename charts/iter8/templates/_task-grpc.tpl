{{- /*
task.grpc: gRPC load test (ghz configuration keys). Validates host/call (top level or per
endpoint), turns protoURL/dataURL/binaryDataURL/metadataURL into download (`run`) tasks plus
the matching ghz file keys, adds a warmup task when warmupNumRequests or warmupDuration is
set, then the main grpc task. Chart-only keys are not passed to the runner.
*/ -}}
{{- define "task.grpc" -}}
{{- $v := .Values.grpc }}
{{- if not $v }}
{{- fail "grpc values object is nil" }}
{{- end }}
{{- range $param := list "host" "call" }}
{{- if not (index $v $param) }}
{{- if not $v.endpoints }}
{{- fail (printf "please set the %s parameter or the endpoints parameter" $param) }}
{{- end }}
{{- range $id, $ep := $v.endpoints }}
{{- if not (index $ep $param) }}
{{- fail (printf "endpoint \"%s\" does not have a %s parameter" $id $param) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* [value key, downloaded file, ghz key] */ -}}
{{- $downloads := list (list "protoURL" "ghz.proto" "proto") (list "dataURL" "data.json" "data-file") (list "binaryDataURL" "data.bin" "binary-file") (list "metadataURL" "metadata.json" "metadata-file") }}
{{- $with := omit (deepCopy $v) "protoURL" "dataURL" "binaryDataURL" "metadataURL" "warmupNumRequests" "warmupDuration" }}
{{- range $downloads }}
{{- $url := index $v (index . 0) }}
{{- if $url }}
{{- $_ := set $ "tasks" (append $.tasks (dict "run" (printf "curl -o %s %v" (index . 1) $url))) }}
{{- $_ := set $with (index . 2) (index . 1) }}
{{- end }}
{{- end }}
{{- range $id, $ep := $with.endpoints }}
{{- range $downloads }}
{{- $url := index $ep (index . 0) }}
{{- if $url }}
{{- $file := printf "%s_%s" $id (index . 1) }}
{{- $_ := set $ "tasks" (append $.tasks (dict "run" (printf "curl -o %s %v" $file $url))) }}
{{- $_ := set $ep (index . 2) $file }}
{{- $_ := unset $ep (index . 0) }}
{{- end }}
{{- end }}
{{- end }}
{{- if or $v.warmupNumRequests $v.warmupDuration }}
{{- $warmup := deepCopy $with }}
{{- if $v.warmupNumRequests }}
{{- $_ := set $warmup "total" $v.warmupNumRequests }}
{{- else }}
{{- $_ := set $warmup "duration" $v.warmupDuration }}
{{- end }}
{{- $_ := set $warmup "warmup" true }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "grpc" "with" $warmup)) }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "grpc" "with" $with)) }}
{{- end }}

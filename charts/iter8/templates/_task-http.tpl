{{- /*
task.http: HTTP load test. Validates url/endpoints, turns payloadURL into a download (`run`)
task plus payloadFile, adds a warmup task when warmupNumRequests or warmupDuration is set, then
the main http task. Chart-only keys (payloadURL, warmup*) are not passed to the runner.
*/ -}}
{{- define "task.http" -}}
{{- $v := .Values.http }}
{{- if not $v }}
{{- fail "http values object is nil" }}
{{- end }}
{{- if not $v.url }}
{{- if not $v.endpoints }}
{{- fail "please set the url parameter or the endpoints parameter" }}
{{- end }}
{{- range $id, $ep := $v.endpoints }}
{{- if not $ep.url }}
{{- fail (printf "endpoint \"%s\" does not have a url parameter" $id) }}
{{- end }}
{{- end }}
{{- end }}
{{- $with := omit (deepCopy $v) "payloadURL" "warmupNumRequests" "warmupDuration" }}
{{- if $v.payloadURL }}
{{- $_ := set $ "tasks" (append $.tasks (dict "run" (printf "curl -o payload.dat %v" $v.payloadURL))) }}
{{- $_ := set $with "payloadFile" "payload.dat" }}
{{- end }}
{{- range $id, $ep := $with.endpoints }}
{{- if $ep.payloadURL }}
{{- $file := printf "%s_payload.dat" $id }}
{{- $_ := set $ "tasks" (append $.tasks (dict "run" (printf "curl -o %s %v" $file $ep.payloadURL))) }}
{{- $_ := set $ep "payloadFile" $file }}
{{- $_ := unset $ep "payloadURL" }}
{{- end }}
{{- end }}
{{- if or $v.warmupNumRequests $v.warmupDuration }}
{{- $warmup := deepCopy $with }}
{{- if $v.warmupNumRequests }}
{{- $_ := set $warmup "numRequests" $v.warmupNumRequests }}
{{- else }}
{{- $_ := set $warmup "duration" $v.warmupDuration }}
{{- end }}
{{- $_ := set $warmup "warmup" true }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "http" "with" $warmup)) }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "http" "with" $with)) }}
{{- end }}

{{- /*
"experiment" renders experiment.yaml, the document the runner reads: `spec` (the ordered
task list built from .Values.tasks) and a fresh `result`.

Each task template receives a context {Values, Release, tasks} and appends its task maps to
`tasks`; the whole list is written once with toYaml, so every user value is quoted correctly.
*/ -}}
{{- define "experiment" -}}
{{ include "experiment.spec" . }}
result:
  startTime: {{ now | toJson }}
  numCompletedTasks: 0
  failure: false
  iter8Version: {{ .Values.majorMinor }}
{{- end }}

{{- /*
"experiment.spec": the `spec` part alone. It depends on the values only (no clock), so it is
what Argo CD compares (argocd=true: Secret <group>-spec and the runner pod's checksum).
*/ -}}
{{- define "experiment.spec" -}}
{{- if not .Values.tasks }}
{{- fail ".Values.tasks is empty" }}
{{- end }}
{{- $ctx := dict "Values" .Values "Release" .Release "tasks" (list) }}
{{- $known := list "assess" "abnmetrics" "custommetrics" "grpc" "http" "ready" "slack" "github" }}
{{- range .Values.tasks }}
{{- if not (has . $known) }}
{{- fail "task name must be one of assess, custommetrics, abnmetrics, grpc, http, ready, github, or slack" }}
{{- end }}
{{- $_ := include (print "task." .) $ctx }}
{{- end }}
{{- toYaml (dict "spec" $ctx.tasks) }}
{{- end }}

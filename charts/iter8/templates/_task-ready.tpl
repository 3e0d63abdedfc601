{{- /*
task.ready: one `ready` task per object named under .Values.ready (see iter8.readyObjects);
deployments wait for condition Available, Knative and KServe services for Ready.
*/ -}}
{{- define "task.ready" -}}
{{- $namespace := include "iter8.readyNamespace" . }}
{{- range include "iter8.readyObjects" . | fromJsonArray }}
{{- $with := dict "name" .name "version" .version "resource" .resource "namespace" $namespace }}
{{- if .group }}
{{- $_ := set $with "group" .group }}
{{- end }}
{{- if .condition }}
{{- $_ := set $with "condition" .condition }}
{{- end }}
{{- if $.Values.ready.timeout }}
{{- $_ := set $with "timeout" $.Values.ready.timeout }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "ready" "with" $with)) }}
{{- end }}
{{- end }}

{{- /* task.custommetrics: metrics from REST/JSON databases; `with` is .Values.custommetrics as given. */ -}}
{{- define "task.custommetrics" -}}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "custommetrics" "with" .Values.custommetrics)) }}
{{- end }}

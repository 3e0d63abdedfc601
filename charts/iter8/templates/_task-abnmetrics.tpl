{{- /* task.abnmetrics: metrics from the A/B/n service; `with` is .Values.abnmetrics as given. */ -}}
{{- define "task.abnmetrics" -}}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "abnmetrics" "with" .Values.abnmetrics)) }}
{{- end }}

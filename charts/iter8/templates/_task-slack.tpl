{{- /*
task.slack: a notify task posting to a Slack webhook. softFailure defaults to true and, unlike
the Iter8 v0.13 chart, an explicit false is kept.
*/ -}}
{{- define "task.slack" -}}
{{- $s := .Values.slack }}
{{- if not $s }}
{{- fail "slack notify values object is nil" }}
{{- end }}
{{- if not $s.url }}
{{- fail "please set a value for the url parameter" }}
{{- end }}
{{- $with := dict "url" $s.url "method" "POST" }}
{{- $_ := set $with "payloadTemplateURL" (default "https://raw.githubusercontent.com/iter8-tools/hub/iter8-0.12.1/templates/_payload-slack.tpl" $s.payloadTemplateURL) }}
{{- $_ := set $with "softFailure" (ne (toString $s.softFailure) "false") }}
{{- $task := dict "task" "notify" "with" $with }}
{{- if $s.if }}
{{- $_ := set $task "if" (toString $s.if) }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks $task) }}
{{- end }}

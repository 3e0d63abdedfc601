{{- /*
task.github: a notify task sending a repository_dispatch event (event type iter8) to GitHub.
softFailure defaults to true and an explicit false is kept.
*/ -}}
{{- define "task.github" -}}
{{- $g := .Values.github }}
{{- if not $g }}
{{- fail "github notify values object is nil" }}
{{- end }}
{{- range $param := list "owner" "repo" "token" }}
{{- if not (index $g $param) }}
{{- fail (printf "please set a value for the %s parameter" $param) }}
{{- end }}
{{- end }}
{{- $with := dict "url" (printf "https://api.github.com/repos/%v/%v/dispatches" $g.owner $g.repo) "method" "POST" }}
{{- $_ := set $with "headers" (dict "Authorization" (printf "token %v" $g.token) "Accept" "application/vnd.github+json") }}
{{- $_ := set $with "payloadTemplateURL" (default "https://raw.githubusercontent.com/iter8-tools/hub/iter8-0.12.1/templates/_payload-github.tpl" $g.payloadTemplateURL) }}
{{- $_ := set $with "softFailure" (ne (toString $g.softFailure) "false") }}
{{- $task := dict "task" "notify" "with" $with }}
{{- if $g.if }}
{{- $_ := set $task "if" (toString $g.if) }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks $task) }}
{{- end }}

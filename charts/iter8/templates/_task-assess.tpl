{{- /*
task.assess: SLO validation. assess.SLOs.upper/lower map metric -> limit; they become lists
of {metric, limit} sorted by metric. A limit is read back as YAML from its printed form, so
`--set assess.SLOs.upper.m=0.5` (a string) is the number 0.5, as in the Iter8 v0.13 chart.
No assess values: no task.
*/ -}}
{{- define "task.assess" -}}
{{- $a := .Values.assess }}
{{- if $a }}
{{- $with := dict }}
{{- if $a.SLOs }}
{{- $slos := dict }}
{{- range $direction := list "upper" "lower" }}
{{- $bounds := index $a.SLOs $direction }}
{{- if $bounds }}
{{- $items := list }}
{{- range $metric, $limit := $bounds }}
{{- $items = append $items (dict "metric" $metric "limit" (fromYaml (printf "limit: %v" $limit)).limit) }}
{{- end }}
{{- $_ := set $slos $direction $items }}
{{- end }}
{{- end }}
{{- $_ := set $with "SLOs" $slos }}
{{- end }}
{{- $_ := set $ "tasks" (append $.tasks (dict "task" "assess" "with" $with)) }}
{{- end }}
{{- end }}

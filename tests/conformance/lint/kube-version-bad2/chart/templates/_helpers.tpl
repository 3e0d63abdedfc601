{{- define "good.name" -}}{{ .Chart.Name }}{{- end -}}

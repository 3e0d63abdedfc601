{{- define "x" }}kept{{ end }}

{{- define "x" }}   {{ end }}

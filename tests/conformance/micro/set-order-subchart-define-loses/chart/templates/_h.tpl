{{- define "x" }}root{{ end }}

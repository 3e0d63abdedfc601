{{- define "never" }}{{ nofunction 1 }}{{ end }}

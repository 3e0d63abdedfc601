{{- define "x" }}sub{{ end }}
{{- define "only-sub" }}sub-only{{ end }}

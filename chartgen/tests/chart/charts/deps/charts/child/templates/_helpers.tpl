{{- define "child.shared" -}}child-define{{- end -}}

{{- /* A hook Job running `iter8 <args>`: dict "ctx" . "name" n "hook" events "weight" w "policy" p "output" o "args" list */ -}}
{{- define "hooks.job" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name }}
  annotations:
    helm.sh/hook: {{ .hook }}
    {{- if .weight }}
    helm.sh/hook-weight: {{ .weight | quote }}
    {{- end }}
    {{- if .policy }}
    helm.sh/hook-delete-policy: {{ .policy }}
    {{- end }}
    {{- if .output }}
    helm.sh/hook-output-log-policy: {{ .output }}
    {{- end }}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: iter8
        image: {{ required "image is required" .ctx.Values.image }}
        args: {{ toJson .args }}
{{- end }}

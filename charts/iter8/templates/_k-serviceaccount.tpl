{{- /* ServiceAccount <group>-iter8-sa, used by the runner when serviceAccountName is unset. */ -}}
{{- define "k.serviceaccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-iter8-sa
  annotations:
    iter8.tools/group: {{ .Release.Name }}
{{- end }}

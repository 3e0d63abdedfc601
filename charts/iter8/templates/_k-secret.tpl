{{- /* Secret <group>: key experiment.yaml is the experiment the runner reads and updates. */ -}}
{{- define "k.secret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}
  annotations:
    iter8.tools/group: {{ .Release.Name }}
stringData:
  experiment.yaml: |
{{ include "experiment" . | indent 4 }}
{{- end }}

{{- /*
Secret <group>: key experiment.yaml is the experiment the runner reads and updates.
With argocd=true also Secret <group>-spec: the experiment's spec alone, which Argo CD keeps in
step with the values (it leaves <group> alone: ignoreDifferences + RespectIgnoreDifferences);
the runner Job mounts it and starts from it (`iter8 k run --spec`).
*/ -}}
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
{{- if .Values.argocd }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-spec
  annotations:
    iter8.tools/group: {{ .Release.Name }}
stringData:
  experiment.yaml: |
{{ include "experiment.spec" . | indent 4 }}
{{- end }}
{{- end }}

{{- /* Job <group>-<revision>-job: runs the experiment once. */ -}}
{{- define "k.job" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-{{ .Release.Revision }}-job
  annotations:
    iter8.tools/group: {{ .Release.Name }}
    iter8.tools/revision: {{ .Release.Revision | quote }}
spec:
  backoffLimit: 0
  template:
    {{- include "iter8.runnerPod" (dict "ctx" . "reuseResult" false) | nindent 4 }}
{{- end }}

{{- /* Job <group>-<revision>-job: runs the experiment once. */ -}}
{{- define "k.job" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-{{ .Release.Revision }}-job
  annotations:
    iter8.tools/group: {{ .Release.Name }}
    iter8.tools/revision: {{ .Release.Revision | quote }}
    {{- if .Values.argocd }}
    {{- /* Argo CD renders every revision as 1: a changed experiment replaces the Job. */}}
    argocd.argoproj.io/sync-options: Force=true,Replace=true
    {{- end }}
spec:
  backoffLimit: 0
  template:
    {{- include "iter8.runnerPod" (dict "ctx" . "reuseResult" false) | nindent 4 }}
{{- end }}

{{- /* CronJob <group>-<revision>-cronjob: one experiment loop per schedule tick (results accumulate). */ -}}
{{- define "k.cronjob" -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ .Release.Name }}-{{ .Release.Revision }}-cronjob
  annotations:
    iter8.tools/group: {{ .Release.Name }}
    iter8.tools/revision: {{ .Release.Revision | quote }}
spec:
  schedule: {{ required ".Values.cronjobSchedule is required when runner is cronjob" .Values.cronjobSchedule | quote }}
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        {{- include "iter8.runnerPod" (dict "ctx" . "reuseResult" true) | nindent 8 }}
{{- end }}

{{- /* The chart's name, at most 63 characters. */ -}}
{{- define "abn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Labels on every object of the service. */ -}}
{{- define "abn.labels" -}}
app.kubernetes.io/name: {{ include "abn.name" . }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- /* API group, version and plural of a resource shortname (v0.13's three). */ -}}
{{- define "abn.kind" -}}
{{- if eq . "deployment" -}}
{"group": "apps", "version": "v1", "resource": "deployments", "condition": "Available"}
{{- else if eq . "service" -}}
{"group": "", "version": "v1", "resource": "services"}
{{- else if eq . "ksvc" -}}
{"group": "serving.knative.dev", "version": "v1", "resource": "services", "condition": "Ready"}
{{- else -}}
{{- fail (printf "apps: unknown resource %q (use deployment, service or ksvc)" .) -}}
{{- end -}}
{{- end -}}

{{- /* Track names of an application: <name>, <name>-candidate-1 ... (list as JSON). */ -}}
{{- define "abn.tracks" -}}
{{- $names := list .name }}
{{- range $i := untilStep 1 (int (add 1 .max)) 1 }}
{{- $names = append $names (printf "%s-candidate-%d" $.name $i) }}
{{- end }}
{{- toJson $names }}
{{- end -}}

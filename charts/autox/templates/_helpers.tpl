{{- /* The chart's name, at most 63 characters. */ -}}
{{- define "autox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Labels on every object of the controller. */ -}}
{{- define "autox.labels" -}}
app.kubernetes.io/name: {{ include "autox.name" . }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- /* Namespace of the controller's objects: Argo CD's in argocd mode, else the release's. */ -}}
{{- define "autox.namespace" -}}
{{- if eq .Values.mode "argocd" }}{{ .Values.argocdNamespace }}{{ else }}{{ .Release.Namespace }}{{ end -}}
{{- end -}}

{{- /*
The groups as the controller's CONFIG file has them (JSON): groups/specs and the older
releaseGroupSpecs/releaseSpecs, each group as {trigger, releaseSpecs}.
*/ -}}
{{- define "autox.config" -}}
{{- $specs := dict }}
{{- range $g, $group := .Values.releaseGroupSpecs }}
{{- $_ := set $specs $g (dict "trigger" $group.trigger "releaseSpecs" (default dict $group.releaseSpecs)) }}
{{- end }}
{{- range $g, $group := .Values.groups }}
{{- $_ := set $specs $g (dict "trigger" $group.trigger "releaseSpecs" (default dict $group.specs)) }}
{{- end }}
{{- dict "specs" $specs | toJson }}
{{- end -}}


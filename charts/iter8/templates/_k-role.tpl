{{- /*
Role <group>: the runner reads and updates the experiment Secret.
Role <group>-ready (only when ready objects are configured): get on each of them, in
ready.namespace or the release namespace.
*/ -}}
{{- define "k.role" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}
  annotations:
    iter8.tools/group: {{ .Release.Name }}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: [{{ .Release.Name | quote }}]
  verbs: ["get", "update"]
{{- $objects := include "iter8.readyObjects" . | fromJsonArray }}
{{- if $objects }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .Release.Name }}-ready
  namespace: {{ include "iter8.readyNamespace" . }}
  annotations:
    iter8.tools/group: {{ .Release.Name }}
rules:
{{- range $objects }}
- apiGroups: [{{ .group | quote }}]
  resources: [{{ .resource | quote }}]
  resourceNames: [{{ .name | quote }}]
  verbs: ["get"]
{{- end }}
{{- end }}
{{- end }}

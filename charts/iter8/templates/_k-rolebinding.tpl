{{- /* RoleBindings of the runner's ServiceAccount to the Roles of _k-role.tpl. */ -}}
{{- define "k.rolebinding" -}}
{{- include "k.rolebinding.one" (dict "ctx" . "role" .Release.Name "namespace" "") }}
{{- if include "iter8.readyObjects" . | fromJsonArray }}
---
{{ include "k.rolebinding.one" (dict "ctx" . "role" (printf "%s-ready" .Release.Name) "namespace" (include "iter8.readyNamespace" .)) }}
{{- end }}
{{- end }}

{{- define "k.rolebinding.one" -}}
{{- $rel := .ctx.Release -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .role }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  annotations:
    iter8.tools/group: {{ $rel.Name }}
subjects:
- kind: ServiceAccount
  name: {{ $rel.Name }}-iter8-sa
  namespace: {{ $rel.Namespace }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .role }}
{{- end }}

{{- /*
iter8.readyObjects: JSON list of the Kubernetes objects named under .Values.ready, in the
fixed order service, deploy, ksvc, isvc, chaosengine; each entry has key, group, version,
resource, condition ("" when existence is enough) and name. Used by the ready task and RBAC.
*/ -}}
{{- define "iter8.readyObjects" -}}
{{- $found := list }}
{{- with .Values.ready }}
{{- $ready := . }}
{{- $kinds := `[
  {"key": "service", "group": "", "version": "v1", "resource": "services", "condition": ""},
  {"key": "deploy", "group": "apps", "version": "v1", "resource": "deployments", "condition": "Available"},
  {"key": "ksvc", "group": "serving.knative.dev", "version": "v1", "resource": "services", "condition": "Ready"},
  {"key": "isvc", "group": "serving.kserve.io", "version": "v1beta1", "resource": "inferenceservices", "condition": "Ready"},
  {"key": "chaosengine", "group": "litmuschaos.io", "version": "v1alpha1", "resource": "chaosengines", "condition": ""}
]` }}
{{- range fromJsonArray $kinds }}
{{- $name := index $ready .key }}
{{- if $name }}
{{- $found = append $found (set . "name" (toString $name)) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $found }}
{{- end }}

{{- /* iter8.readyNamespace: where the ready objects live (ready.namespace, else the release namespace). */ -}}
{{- define "iter8.readyNamespace" -}}
{{- $ready := .Values.ready | default dict }}
{{- coalesce $ready.namespace .Release.Namespace }}
{{- end }}

{{- /*
iter8.runnerPod: pod template of the runner Job/CronJob. Context: {ctx: top-level context,
reuseResult: bool (CronJob loops keep and extend the stored result)}.
*/ -}}
{{- define "iter8.runnerPod" -}}
{{- $c := .ctx -}}
metadata:
  labels:
    iter8.tools/group: {{ $c.Release.Name }}
  annotations:
    sidecar.istio.io/inject: "false"
    {{- if and $c.Values.argocd (not .reuseResult) }}
    iter8.tools/spec-sha256: {{ include "experiment.spec" $c | sha256sum }}
    {{- end }}
spec:
  serviceAccountName: {{ default (printf "%s-iter8-sa" $c.Release.Name) $c.Values.serviceAccountName }}
  restartPolicy: Never
  {{- if $c.Values.runnerHostNetwork }}
  hostNetwork: true
  {{- end }}
  containers:
  - name: iter8
    image: {{ $c.Values.iter8Image }}{{ with $c.Values.iter8ImageDigest }}@{{ . }}{{ end }}
    imagePullPolicy: Always
    {{- with $c.Values.runnerEnv }}
    env:
    {{- toYaml . | nindent 4 }}
    {{- end }}
    command:
    - iter8
    - k
    - run
    - --namespace
    - {{ $c.Release.Namespace }}
    - --group
    - {{ $c.Release.Name }}
    - -l
    - {{ $c.Values.logLevel }}
    {{- if .reuseResult }}
    - --reuseResult
    {{- end }}
    {{- if and $c.Values.argocd (not .reuseResult) }}
    - --spec
    - /etc/iter8/spec/experiment.yaml
    volumeMounts:
    - name: spec
      mountPath: /etc/iter8/spec
      readOnly: true
    {{- end }}
    resources:
      {{- toYaml $c.Values.resources | nindent 6 }}
  {{- if and $c.Values.argocd (not .reuseResult) }}
  volumes:
  - name: spec
    secret:
      secretName: {{ $c.Release.Name }}-spec
  {{- end }}
{{- end }}

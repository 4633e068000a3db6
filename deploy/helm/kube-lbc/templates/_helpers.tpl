{{- define "kube-lbc.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name, or release-chart when the release's name does not contain the chart's. */}}
{{- define "kube-lbc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "kube-lbc.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "kube-lbc.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kube-lbc.labels" -}}
app.kubernetes.io/name: {{ include "kube-lbc.name" . }}
app.kubernetes.io/part-of: kube-lbc
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "kube-lbc.selector" -}}
app.kubernetes.io/name: {{ include "kube-lbc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-lbc.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Values that would install a controller that cannot work: refused at install time. */}}
{{- define "kube-lbc.validate" -}}
{{- if and (eq .Values.provider "local") (not .Values.cloudConfig.addresses) -}}
{{- fail "provider: local needs cloudConfig.addresses, its address pool (CIDRs or a-b ranges)" -}}
{{- end -}}
{{- if and .Values.proxy.enabled (ne .Values.provider "local") -}}
{{- fail "proxy.enabled is for provider: local" -}}
{{- end -}}
{{- if and .Values.proxy.enabled (ne (.Values.cloudConfig.mode | default "in-process") "controller") -}}
{{- fail "proxy.enabled needs cloudConfig.mode: controller (in-process mode serves from the controller's own pod)" -}}
{{- end -}}
{{- if and (eq .Values.provider "local") (eq (.Values.cloudConfig.mode | default "in-process") "controller") (not .Values.proxy.enabled) -}}
{{- fail "cloudConfig.mode: controller needs proxy.enabled: true (the proxy DaemonSet serves the addresses)" -}}
{{- end -}}
{{- end -}}

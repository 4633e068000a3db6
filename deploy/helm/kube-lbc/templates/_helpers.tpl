{{- define "kube-lbc.labels" -}}
app.kubernetes.io/name: kube-lbc
app.kubernetes.io/part-of: kube-lbc
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "kube-lbc.selector" -}}
app.kubernetes.io/name: kube-lbc
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kube-lbc.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

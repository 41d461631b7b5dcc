{{/*
Names shared by the templates. The chart installs one manager per cluster, so its objects have
fixed names that match the kustomize install in config/default.
*/}}

{{/* Labels on every object the chart renders. */}}
{{- define "fivesafes.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: fivesafes
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fivesafes
{{- end }}

{{/* Labels that select the manager pods. */}}
{{- define "fivesafes.selectorLabels" -}}
app.kubernetes.io/name: fivesafes
app.kubernetes.io/component: manager
{{- end }}

{{/* The manager image reference: repository:tag, pinned with @digest when one is given. */}}
{{- define "fivesafes.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{/*
The documents of a multi-document YAML file in files/, copied there from config/ by hack/chart,
as a list of maps; documents holding only comments are left out. A document that does not parse
fails the render.
*/}}
{{- define "fivesafes.documents" -}}
{{- $docs := list -}}
{{- range $text := regexSplit "(?m)^---[ \t]*$" (.root.Files.Get .file) -1 -}}
{{- $doc := fromYaml $text -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "%s: a document does not parse: %s" $.file (get $doc "Error")) -}}
{{- end -}}
{{- if $doc.kind -}}
{{- $docs = append $docs $doc -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "items" $docs) -}}
{{- end }}

{{/* Fixed object names. */}}
{{- define "fivesafes.serviceAccountName" -}}fivesafes-manager{{- end }}
{{- define "fivesafes.webhookServiceName" -}}fivesafes-webhook-service{{- end }}
{{- define "fivesafes.metricsServiceName" -}}fivesafes-metrics-service{{- end }}
{{- define "fivesafes.webhookCertSecretName" -}}fivesafes-webhook-cert{{- end }}
{{- define "fivesafes.mutatingWebhookName" -}}fivesafes-mutating-webhook-configuration{{- end }}
{{- define "fivesafes.validatingWebhookName" -}}fivesafes-validating-webhook-configuration{{- end }}
{{- define "fivesafes.policyConfigMapName" -}}fivesafes-policy-overrides{{- end }}

{{/* Where the manager reads its webhook certificate and Vault credentials. */}}
{{- define "fivesafes.webhookCertDir" -}}/etc/fivesafes/webhook-certs{{- end }}
{{- define "fivesafes.vaultTokenDir" -}}/etc/fivesafes/vault{{- end }}
{{- define "fivesafes.vaultCADir" -}}/etc/fivesafes/vault-ca{{- end }}

{{/* Checks of values that the schema cannot express. */}}
{{- define "fivesafes.validate" -}}
{{- if eq .Values.governance.committeeGroup .Values.governance.checkersGroup -}}
{{- fail "governance.committeeGroup and governance.checkersGroup must differ: approving data and checking outputs are separate duties" -}}
{{- end -}}
{{- if .Values.storage.endpoint -}}
{{- $host := regexReplaceAll ":[0-9]+$" .Values.storage.endpoint "" | trimPrefix "[" | trimSuffix "]" -}}
{{- if and (not .Values.workspace.objectStoreCIDR) (not (regexMatch "^[0-9.]+$|:" $host)) -}}
{{- fail "workspace.objectStoreCIDR is required when storage.endpoint is a DNS name: workspace network policies allow the object store by address" -}}
{{- end -}}
{{- end -}}
{{- end }}

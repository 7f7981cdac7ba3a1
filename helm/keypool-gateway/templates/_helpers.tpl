{{/*
Name of the chart, or nameOverride.
*/}}
{{- define "keypool-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, at most 63 characters (DNS label). A release name that already
contains the chart name is used as is.
*/}}
{{- define "keypool-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the management Service: the fullname with a suffix, kept within 63 characters.
*/}}
{{- define "keypool-gateway.managementName" -}}
{{- printf "%s-management" (include "keypool-gateway.fullname" . | trunc 52 | trimSuffix "-") }}
{{- end }}

{{- define "keypool-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "keypool-gateway.labels" -}}
helm.sh/chart: {{ include "keypool-gateway.chart" . }}
{{ include "keypool-gateway.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keypool-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the gateway's pods. Never change them: a Deployment's selector is immutable.
*/}}
{{- define "keypool-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keypool-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keypool-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keypool-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "keypool-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the Secret the pods read their environment from: the user's existingSecret, or the one
this chart renders.
*/}}
{{- define "keypool-gateway.secretName" -}}
{{- default (include "keypool-gateway.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The application.yaml the gateway runs with: `config` from the values, with the settings the rest
of the chart depends on (ports, probes, graceful shutdown) laid over it so they cannot drift apart.
*/}}
{{- define "keypool-gateway.applicationConfig" -}}
{{- $managed := dict
  "server" (dict "port" (int .Values.ports.http) "shutdown" "graceful")
  "management" (dict
    "server" (dict "port" (int .Values.ports.management))
    "endpoint" (dict "health" (dict "probes" (dict "enabled" true)))) }}
{{- $config := mustMergeOverwrite (deepCopy (.Values.config | default dict)) $managed }}
{{- $exposure := dig "management" "endpoints" "web" "exposure" "include" "" $config }}
{{- if not $exposure }}
{{- $_ := mustMergeOverwrite $config (dict "management" (dict "endpoints" (dict "web" (dict "exposure" (dict "include" "health,info,prometheus,keypools"))))) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
The state store the configuration selects (memory unless set).
*/}}
{{- define "keypool-gateway.stateStore" -}}
{{- dig "keypool" "state" "store" "memory" (.Values.config | default dict) }}
{{- end }}

{{/*
Whether more than one pod may run at once.
*/}}
{{- define "keypool-gateway.multiReplica" -}}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.maxReplicas) 1 }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true{{ end }}
{{- end }}

{{/*
Whether to render the PodDisruptionBudget: as set, or when more than one pod is always wanted.
*/}}
{{- define "keypool-gateway.pdbEnabled" -}}
{{- $pdb := .Values.podDisruptionBudget.enabled }}
{{- if kindIs "bool" $pdb }}
{{- if $pdb }}true{{ end }}
{{- else if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) 1 }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true{{ end }}
{{- end }}

{{/*
Names of the environment variables the configuration requires: ${NAME} placeholders without a
default, comma-separated.
*/}}
{{- define "keypool-gateway.placeholders" -}}
{{- $names := list }}
{{- range regexFindAll "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" (include "keypool-gateway.applicationConfig" .) -1 }}
{{- $names = append $names (trimSuffix "}" (trimPrefix "${" .)) }}
{{- end }}
{{- $names | uniq | sortAlpha | join "," }}
{{- end }}

{{/*
Fails the render when the configuration refers to a ${NAME} that the chart's Secret would not
provide, so a typo shows up at install time instead of as an empty key in the pod.
Placeholders with a default (${NAME:...}) and names set through extraEnv are exempt.
*/}}
{{- define "keypool-gateway.validateSecrets" -}}
{{- if not .Values.secrets.existingSecret }}
{{- $config := include "keypool-gateway.applicationConfig" . }}
{{- $provided := keys (.Values.secrets.env | default dict) }}
{{- range .Values.extraEnv }}
{{- $provided = append $provided .name }}
{{- end }}
{{- range regexFindAll "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" $config -1 }}
{{- $name := trimSuffix "}" (trimPrefix "${" .) }}
{{- if not (has $name $provided) }}
{{- fail (printf "config refers to ${%s}, but secrets.env has no %s (add it, or use secrets.existingSecret)" $name $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
PromQL label matchers, without braces, for this release's series.
*/}}
{{- define "keypool-gateway.metricSelector" -}}
{{- if .Values.prometheusRule.metricSelector }}
{{- .Values.prometheusRule.metricSelector }}
{{- else }}
{{- printf "namespace=%q,job=%q" .Release.Namespace (include "keypool-gateway.managementName" .) }}
{{- end }}
{{- end }}

{{/*
Alerting rule groups, in Prometheus' rule-file format (the PrometheusRule's spec.groups).
Metric names and labels are the ones docs/contract.md (Metrics) lists.
*/}}
{{- define "keypool-gateway.ruleGroups" -}}
{{- $sel := include "keypool-gateway.metricSelector" . }}
{{- $alerts := .Values.prometheusRule.alerts }}
{{- $labels := .Values.prometheusRule.alertLabels | default dict }}
- name: keypool-gateway.rules
  rules:
    {{- with $alerts.poolExhausted }}
    {{- if .enabled }}
    - alert: KeypoolPoolExhausted
      expr: |-
        sum by (namespace, pool, outcome) (
          increase(keypool_exhaustions_total{ {{- $sel -}} }[5m])
        ) > 0
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Pool {{ $labels.pool }} ran out of keys`}}
        description: >-
          {{`Requests to pool {{ $labels.pool }} in {{ $labels.namespace }} found no usable key
          ({{ $value | humanize }} in 5 minutes, outcome {{ $labels.outcome }}). transient: every key
          is rate-limited and callers get 429; permanent: every key failed authentication and callers
          get 502. Check GET /actuator/keypools/{{ $labels.pool }} on the management port.`}}
    {{- end }}
    {{- end }}
    {{- with $alerts.keyDisabled }}
    {{- if .enabled }}
    - alert: KeypoolKeyDisabled
      expr: |-
        max by (namespace, pool, key) (
          keypool_key_state{ {{- $sel -}} {{- if $sel }},{{ end -}} state="disabled"}
        ) > 0
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Key {{ $labels.key }} of pool {{ $labels.pool }} is disabled`}}
        description: >-
          {{`The provider rejected key {{ $labels.key }} of pool {{ $labels.pool }} in
          {{ $labels.namespace }} (401/403); it is skipped until reset. Fix or rotate the key, then
          DELETE /actuator/keypools/{{ $labels.pool }}/{{ $labels.key }} with the admin token.`}}
    {{- end }}
    {{- end }}
    {{- with $alerts.configReloadRefused }}
    {{- if .enabled }}
    - alert: KeypoolConfigReloadRefused
      expr: |-
        sum by (namespace, pod) (
          increase(keypool_config_reloads_total{ {{- $sel -}} {{- if $sel }},{{ end -}} outcome="refused"}[15m])
        ) > 0
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`A configuration reload was refused on {{ $labels.pod }}`}}
        description: >-
          {{`{{ $labels.pod }} in {{ $labels.namespace }} refused a new configuration and keeps serving
          the previous one, so a key or token rotation did not take effect there. Its log has one
          ERROR line per bad property ("Configuration reload refused: ...").`}}
    {{- end }}
    {{- end }}
    {{- with $alerts.failoverRateHigh }}
    {{- if .enabled }}
    - alert: KeypoolFailoverRateHigh
      expr: |-
        sum by (namespace, pool) (rate(keypool_failovers_total{ {{- $sel -}} }[5m]))
          /
        sum by (namespace, pool) (rate(keypool_requests_total{ {{- $sel -}} {{- if $sel }},{{ end -}} mode="pooled"}[5m]))
          > {{ .threshold }}
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Pool {{ $labels.pool }} fails over on many requests`}}
        description: >-
          {{`Pool {{ $labels.pool }} in {{ $labels.namespace }} made {{ $value | humanize }} failovers
          per pooled request over 5 minutes: its first keys keep hitting rate limits. Add keys or
          capacity before the pool runs out.`}}
    {{- end }}
    {{- end }}
    {{- with .Values.prometheusRule.additionalRules }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

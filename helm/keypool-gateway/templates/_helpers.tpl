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
{{- with (include "keypool-gateway.redisConfig" . | fromYaml) }}
{{- $config = mustMergeOverwrite $config . }}
{{- end }}
{{- $exposure := dig "management" "endpoints" "web" "exposure" "include" "" $config }}
{{- if not $exposure }}
{{- $_ := mustMergeOverwrite $config (dict "management" (dict "endpoints" (dict "web" (dict "exposure" (dict "include" "health,info,prometheus,keypools,keypoolclients"))))) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
The spring.data.redis.* (and SSL bundle) settings `redis` selects, as YAML; empty without `redis.mode`.
The password is a placeholder for the environment variable taken from `redis.password.existingSecret`.
*/}}
{{- define "keypool-gateway.redisConfig" -}}
{{- $r := .Values.redis | default dict }}
{{- if $r.mode }}
{{- $redis := dict }}
{{- if eq $r.mode "standalone" }}
{{- $_ := set $redis "host" $r.host }}
{{- $_ := set $redis "port" (int $r.port) }}
{{- else if eq $r.mode "sentinel" }}
{{- $_ := set $redis "sentinel" (dict "master" $r.sentinel.master "nodes" (join "," $r.sentinel.nodes)) }}
{{- else if eq $r.mode "cluster" }}
{{- $_ := set $redis "cluster" (dict "nodes" (join "," $r.cluster.nodes)) }}
{{- end }}
{{- with $r.username }}
{{- $_ := set $redis "username" . }}
{{- end }}
{{- if $r.password.existingSecret }}
{{- $_ := set $redis "password" "${KEYPOOL_REDIS_PASSWORD}" }}
{{- end }}
{{- $spring := dict "data" (dict "redis" $redis) }}
{{- if $r.tls.enabled }}
{{- $ssl := dict "enabled" true }}
{{- if $r.tls.caSecret }}
{{- $_ := set $ssl "bundle" "keypool-redis" }}
{{- $_ := set $spring "ssl" (dict "bundle" (dict "pem" (dict "keypool-redis" (dict "truststore" (dict "certificate" (printf "file:/etc/keypool/redis-tls/%s" $r.tls.caKey)))))) }}
{{- end }}
{{- $_ := set $redis "ssl" $ssl }}
{{- end }}
{{- toYaml (dict "keypool" (dict "state" (dict "store" "redis")) "spring" $spring) }}
{{- end }}
{{- end }}

{{/*
The state store the configuration selects (memory unless set).
*/}}
{{- define "keypool-gateway.stateStore" -}}
{{- if (.Values.redis | default dict).mode }}redis{{ else }}
{{- dig "keypool" "state" "store" "memory" (.Values.config | default dict) }}
{{- end }}
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
{{- if ((.Values.redis | default dict).password | default dict).existingSecret }}
{{- $provided = append $provided "KEYPOOL_REDIS_PASSWORD" }}
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
    {{- with $alerts.modelClassCoolingOnEveryKey }}
    {{- if .enabled }}
    - alert: KeypoolModelClassCoolingOnEveryKey
      expr: |-
        count by (namespace, pool, model_class) (
          max by (namespace, pool, key, model_class) (
            keypool_model_cooldown_remaining_seconds{ {{- $sel -}} {{- if $sel }},{{ end -}} model_class!="*"}
          ) > 0
        )
          >= on (namespace, pool) group_left
        count by (namespace, pool) (
          max by (namespace, pool, key) (keypool_key_state{ {{- $sel -}} {{- if $sel }},{{ end -}} state="available"})
        )
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Model class {{ $labels.model_class }} is rate-limited on every key of pool {{ $labels.pool }}`}}
        description: >-
          {{`Every key of pool {{ $labels.pool }} in {{ $labels.namespace }} has been cooling down for
          model class {{ $labels.model_class }} without a break for the whole alert window (429s or
          proactive cooldowns from the rate-limit headers). Impact: requests for that class get 429
          with Retry-After (or wait up to max-wait) while other classes are still served. Check:
          GET /actuator/keypools/{{ $labels.pool }} on the management port (cooldowns[] and
          rateLimits per key), keypool_ratelimit_remaining{model_class="{{ $labels.model_class }}"}.
          Fix: add keys from another organization (a key in the same group shares the same limit),
          raise the organization's rate limit for that model, or move traffic to another class.`}}
    {{- end }}
    {{- end }}
    {{- with $alerts.rateLimitHeadroomLow }}
    {{- if .enabled }}
    - alert: KeypoolRateLimitHeadroomLow
      expr: |-
        sum by (namespace, pool, model_class, resource) (
          max by (namespace, pool, key, model_class, resource) (keypool_ratelimit_remaining{ {{- $sel -}} } >= 0)
        )
          /
        sum by (namespace, pool, model_class, resource) (
          max by (namespace, pool, key, model_class, resource) (keypool_ratelimit_limit{ {{- $sel -}} } > 0)
        )
          < {{ .threshold }}
        and on (namespace, pool)
        sum by (namespace, pool) (rate(keypool_requests_total{ {{- $sel -}} {{- if $sel }},{{ end -}} mode="pooled"}[5m])) > 0
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Pool {{ $labels.pool }} is low on {{ $labels.resource }} for {{ $labels.model_class }}`}}
        description: >-
          {{`The keys of pool {{ $labels.pool }} in {{ $labels.namespace }} together reported only
          {{ $value | humanizePercentage }} of their {{ $labels.resource }} limit left for model class
          {{ $labels.model_class }} (anthropic-ratelimit-* headers, last response per key), while the
          pool serves traffic. Impact: none yet; soon proactive cooldowns, then 429s for that class
          (see KeypoolModelClassCoolingOnEveryKey). Check: keypool_ratelimit_remaining and
          keypool_ratelimit_limit per key, rateLimits in GET /actuator/keypools/{{ $labels.pool }}.
          Fix: add keys (from another organization when the keys share one), ask the provider for a
          higher limit, or spread load (strategy: headroom uses the key with the most room first).
          The figures are what each key last reported; a key that got no traffic since keeps its
          old figures.`}}
    {{- end }}
    {{- end }}
    {{- with $alerts.waitsFailing }}
    {{- if .enabled }}
    - alert: KeypoolWaitsFailing
      expr: |-
        sum by (namespace, pool) (rate(keypool_waits_total{ {{- $sel -}} {{- if $sel }},{{ end -}} outcome=~"timed_out|rejected"}[10m]))
          /
        sum by (namespace, pool) (rate(keypool_waits_total{ {{- $sel -}} }[10m]))
          > {{ .threshold }}
      for: {{ .for }}
      labels:
        severity: {{ .severity }}
        {{- with $labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        summary: {{`Requests held by pool {{ $labels.pool }} give up waiting for a key`}}
        description: >-
          {{`Of the requests pool {{ $labels.pool }} in {{ $labels.namespace }} held for a key to come
          back (max-wait), {{ $value | humanizePercentage }} over 10 minutes timed out or were turned
          away because max-waiting requests were already held. Impact: those callers got 429 after
          waiting, or at once. Check: keypool_waits_total by outcome, keypool_exhaustions_total,
          cooldowns in GET /actuator/keypools/{{ $labels.pool }}. Fix: add keys or capacity; raise
          max-wait (at most 60s) only if cooldowns end just after it; raise max-waiting only if the
          rejections come from short bursts.`}}
    {{- end }}
    {{- end }}
    {{- with .Values.prometheusRule.additionalRules }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
Every named template takes a context dict: (dict "root" $ "values" <the sidecar's values>).
Inside this chart that is (dict "root" $ "values" .Values); a shop's chart that depends on
this one as `trustly` passes (dict "root" $ "values" .Values.trustly). Names never come
from .Chart, which is the shop's chart in that case.
*/}}

{{- define "trustly-sidecar.name" -}}
{{- default "trustly-sidecar" .values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trustly-sidecar.fullname" -}}
{{- if .values.fullnameOverride }}
{{- .values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "trustly-sidecar.name" . }}
{{- if contains $name .root.Release.Name }}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "trustly-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trustly-sidecar.name" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "trustly-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "trustly-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "trustly-sidecar.serviceAccountName" -}}
{{- if .values.serviceAccount.create }}
{{- default (include "trustly-sidecar.fullname" .) .values.serviceAccount.name }}
{{- else }}
{{- default "default" .values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "trustly-sidecar.secretName" -}}
{{- default (include "trustly-sidecar.fullname" .) .values.secrets.existingSecret }}
{{- end }}

{{- define "trustly-sidecar.image" -}}
{{- if .values.image.digest }}
{{- printf "%s@%s" .values.image.repository .values.image.digest }}
{{- else }}
{{- printf "%s:%s" .values.image.repository .values.image.tag }}
{{- end }}
{{- end }}

{{/* Where the secret files and Trustly's public key are mounted. */}}
{{- define "trustly-sidecar.secretDir" -}}/var/run/secrets/trustly-sidecar{{- end }}
{{- define "trustly-sidecar.configDir" -}}/etc/trustly-sidecar{{- end }}
{{/* A small memory-backed emptyDir: the root file system is read-only and the image
(scratch) has no /tmp, but go-plugin creates the adapter's unix socket in TMPDIR. */}}
{{- define "trustly-sidecar.tmpDir" -}}/tmp{{- end }}
{{/* Where an adapter copied from adapterImage lives in the sidecar's container. */}}
{{- define "trustly-sidecar.adapterDir" -}}/opt/trustly-sidecar/adapters{{- end }}

{{/* The adapter setting: the copied executable with adapterImage, else adapter. */}}
{{- define "trustly-sidecar.adapter" -}}
{{- if .values.adapterImage.repository }}
{{- printf "%s/%s" (include "trustly-sidecar.adapterDir" .) (base .values.adapterImage.path) }}
{{- else }}
{{- .values.adapter }}
{{- end }}
{{- end }}

{{/*
The init container that copies an external adapter's executable from its own image
(adapterImage) into the emptyDir the sidecar runs it from. The image must hold a cp
(adapterImage.command replaces it): see "An adapter from its own image" in the README.
*/}}
{{- define "trustly-sidecar.adapterInstall" -}}
{{- $a := .values.adapterImage -}}
- name: {{ include "trustly-sidecar.name" . }}-adapter
  image: {{ ternary (printf "%s@%s" $a.repository $a.digest) (printf "%s:%s" $a.repository $a.tag) (ne $a.digest "") | quote }}
  imagePullPolicy: {{ $a.pullPolicy }}
  command:
    {{- if $a.command }}
    {{- toYaml $a.command | nindent 4 }}
    {{- else }}
    - cp
    - {{ $a.path }}
    - {{ include "trustly-sidecar.adapter" . }}
    {{- end }}
  resources:
    requests:
      cpu: 10m
      memory: 16Mi
    limits:
      memory: 64Mi
  securityContext:
    {{- toYaml .values.securityContext | nindent 4 }}
  volumeMounts:
    - name: trustly-sidecar-adapters
      mountPath: {{ include "trustly-sidecar.adapterDir" . }}
{{- end }}

{{/*
The secret files the sidecar reads, as a list of dicts: variable (without prefix and
_FILE) and key (in the Secret). Platform secrets keep their variable name as key.
*/}}
{{- define "trustly-sidecar.secretFiles" -}}
{{- $files := list
  (dict "variable" "TRUSTLY_PASSWORD" "key" "trustly-password")
  (dict "variable" "MERCHANT_PRIVATE_KEY" "key" "merchant-private-key")
  (dict "variable" "NOTIFICATION_SECRET" "key" "notification-secret")
  (dict "variable" "SHOP_API_TOKEN" "key" "shop-api-token") }}
{{- if include "trustly-sidecar.redisAuth" . }}
{{- $files = append $files (dict "variable" "REDIS_PASSWORD" "key" "redis-password") }}
{{- end }}
{{- if include "trustly-sidecar.sentinelAuth" . }}
{{- $files = append $files (dict "variable" "REDIS_SENTINEL_PASSWORD" "key" "redis-sentinel-password") }}
{{- end }}
{{- if include "trustly-sidecar.metricsAuth" . }}
{{- $files = append $files (dict "variable" "METRICS_TOKEN" "key" "metrics-token") }}
{{- end }}
{{- if include "trustly-sidecar.smtpAuth" . }}
{{- $files = append $files (dict "variable" "SMTP_PASSWORD" "key" "smtp-password") }}
{{- end }}
{{- if include "trustly-sidecar.smsAuth" . }}
{{- $files = append $files (dict "variable" "SMS_PASSWORD" "key" "sms-password") }}
{{- end }}
{{- range $name := include "trustly-sidecar.platformKeys" . | fromJsonArray }}
{{- $files = append $files (dict "variable" $name "key" $name "platform" true) }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{- define "trustly-sidecar.platformKeys" -}}
{{- if .values.secrets.existingSecret }}
{{- toJson (.values.secrets.platformKeys | default list | uniq | sortAlpha) }}
{{- else }}
{{- toJson (keys (.values.secrets.platform | default dict) | sortAlpha) }}
{{- end }}
{{- end }}

{{- define "trustly-sidecar.redisAuth" -}}
{{- if or .values.redis.auth.enabled .values.secrets.redisPassword }}true{{ end }}
{{- end }}

{{/* The metrics-only token (key metrics-token): Prometheus's, with the ServiceMonitor. */}}
{{- define "trustly-sidecar.metricsAuth" -}}
{{- if or .values.metrics.serviceMonitor.enabled .values.secrets.metricsToken }}true{{ end }}
{{- end }}

{{/* SMTP AUTH: a username needs its password (key smtp-password). */}}
{{- define "trustly-sidecar.smtpAuth" -}}
{{- if and .values.smtp.addr (or .values.smtp.username .values.secrets.smtpPassword) }}true{{ end }}
{{- end }}

{{/* The SMS gateway's password: Twilio's Auth Token, or the json endpoint's bearer token
when sms.auth is true (key sms-password). */}}
{{- define "trustly-sidecar.smsAuth" -}}
{{- if and .values.sms.gateway (or (eq .values.sms.gateway "twilio") .values.sms.auth .values.secrets.smsPassword) }}true{{ end }}
{{- end }}

{{- define "trustly-sidecar.sentinelAuth" -}}
{{- if or .values.redis.sentinel.auth.enabled .values.secrets.redisSentinelPassword }}true{{ end }}
{{- end }}

{{/*
Checks the schema cannot express, or that would print a secret in its message. Renders
nothing; fails with one clear message.
*/}}
{{- define "trustly-sidecar.validate" -}}
{{- $v := .values }}
{{- $s := $v.secrets }}
{{- if not $s.existingSecret }}
{{- range $field := list "trustlyPassword" "merchantPrivateKey" "notificationSecret" "shopApiToken" }}
{{- if not (index $s $field) }}
{{- fail (printf "secrets.%s is required when secrets.existingSecret is empty (or name an existing Secret in secrets.existingSecret)" $field) }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^[A-Za-z0-9_-]{16,}$" $s.notificationSecret) }}
{{- fail "secrets.notificationSecret must be at least 16 of A-Z a-z 0-9 - _ (e.g. openssl rand -hex 24)" }}
{{- end }}
{{- if lt (len $s.shopApiToken) 16 }}
{{- fail "secrets.shopApiToken must be at least 16 characters" }}
{{- end }}
{{- if not (contains "PRIVATE KEY-----" $s.merchantPrivateKey) }}
{{- fail "secrets.merchantPrivateKey must be a PEM private key (trustly-sidecar keygen creates one)" }}
{{- end }}
{{- if and $v.redis.auth.enabled (not $s.redisPassword) }}
{{- fail "redis.auth.enabled needs secrets.redisPassword (or secrets.existingSecret with key redis-password)" }}
{{- end }}
{{- if and $v.redis.sentinel.auth.enabled (not $s.redisSentinelPassword) }}
{{- fail "redis.sentinel.auth.enabled needs secrets.redisSentinelPassword (or secrets.existingSecret with key redis-sentinel-password)" }}
{{- end }}
{{- if and (include "trustly-sidecar.metricsAuth" .) (not $s.metricsToken) }}
{{- fail "metrics.serviceMonitor.enabled needs secrets.metricsToken (or secrets.existingSecret with key metrics-token): Prometheus gets a token that reads /metrics only, never the shop API token" }}
{{- end }}
{{- if and $s.metricsToken (lt (len $s.metricsToken) 16) }}
{{- fail "secrets.metricsToken must be at least 16 characters" }}
{{- end }}
{{- if and $s.metricsToken (eq $s.metricsToken $s.shopApiToken) }}
{{- fail "secrets.metricsToken equals secrets.shopApiToken: give Prometheus a token of its own" }}
{{- end }}
{{- if and (include "trustly-sidecar.smtpAuth" .) (not $s.smtpPassword) }}
{{- fail "smtp.username needs secrets.smtpPassword (or secrets.existingSecret with key smtp-password)" }}
{{- end }}
{{- if and (include "trustly-sidecar.smsAuth" .) (not $s.smsPassword) }}
{{- fail "sms.gateway twilio (or sms.auth) needs secrets.smsPassword (or secrets.existingSecret with key sms-password)" }}
{{- end }}
{{- else }}
{{- range $field := list "trustlyPassword" "merchantPrivateKey" "notificationSecret" "shopApiToken" "redisPassword" "redisSentinelPassword" "smtpPassword" "smsPassword" "metricsToken" }}
{{- if index $s $field }}
{{- fail (printf "secrets.%s is set but secrets.existingSecret %q is used: set one or the other" $field $s.existingSecret) }}
{{- end }}
{{- end }}
{{- if $s.platform }}
{{- fail "secrets.platform is set but secrets.existingSecret is used: list the keys in secrets.platformKeys instead" }}
{{- end }}
{{- end }}
{{- if and (eq $v.redis.mode "embedded") (eq $v.trustly.environment "LIVE") }}
{{- fail "redis.mode embedded keeps payments in memory only; LIVE needs a real Redis" }}
{{- end }}
{{- if and (eq $v.redis.mode "embedded") (eq $v.mode "standalone") (or (gt (int $v.replicaCount) 1) $v.autoscaling.enabled) }}
{{- fail "redis.mode embedded keeps state in each pod: run one replica (replicaCount: 1, autoscaling.enabled: false)" }}
{{- end }}
{{- if and (eq $v.trustly.environment "SIM") (or (not $v.trustly.url) (not $v.trustly.publicKey)) }}
{{- fail "trustly.environment SIM needs trustly.url (the simulator's API URL) and trustly.publicKey (its trustly_sim_public.pem)" }}
{{- end }}
{{- range $name := keys ($v.adapterEnv | default dict) }}
{{- if hasPrefix "TRUSTLY_SIDECAR_" $name }}
{{- fail (printf "adapterEnv.%s: TRUSTLY_SIDECAR_ variables are the sidecar's own settings and are never passed to an adapter" $name) }}
{{- end }}
{{- /* A commercetools project key or a public key names no secret. */}}
{{- if and (regexMatch "(PASSWORD|TOKEN|SECRET|KEY)$" $name) (not (regexMatch "(PROJECT|PUBLIC)_KEY$" $name)) }}
{{- fail (printf "adapterEnv.%s looks like a secret, and adapterEnv is plain environment: put it in secrets.platform (or secrets.platformKeys with existingSecret), mounted as a file and passed to the adapter as %s_FILE" $name $name) }}
{{- end }}
{{- end }}
{{- if and $v.adapterImage.repository $v.adapter }}
{{- fail "adapter and adapterImage are both set: with adapterImage the sidecar runs the copied executable; leave adapter empty" }}
{{- end }}
{{- if and $v.adapterImage.repository (not (or $v.adapterImage.tag $v.adapterImage.digest)) }}
{{- fail "adapterImage.repository needs adapterImage.tag or adapterImage.digest" }}
{{- end }}
{{- if and (or $v.adapterEnv (include "trustly-sidecar.platformKeys" . | fromJsonArray)) (not (include "trustly-sidecar.adapter" .)) }}
{{- fail "adapterEnv or platform secrets are set but adapter is empty: there is no adapter to pass them to" }}
{{- end }}
{{- if and $v.smtp.addr (not $v.smtp.from) }}
{{- fail "smtp.addr needs smtp.from, the sender of pay-link e-mails (e.g. Shop <pay@shop.example>)" }}
{{- end }}
{{- if and $v.sms.gateway (not $v.sms.from) }}
{{- fail "sms.gateway needs sms.from, the sender of pay-link SMS (an E.164 number or a sender id)" }}
{{- end }}
{{- if and (eq $v.sms.gateway "json") (not $v.sms.url) }}
{{- fail "sms.gateway json needs sms.url, the endpoint that receives {to,from,text}" }}
{{- end }}
{{- if and (eq $v.sms.gateway "twilio") (not $v.sms.username) }}
{{- fail "sms.gateway twilio needs sms.username (the Account SID) and the Auth Token in secrets" }}
{{- end }}
{{- range $e := $v.extraEnv }}
{{- if regexMatch "^TRUSTLY_SIDECAR_(SMTP|SMS)_" $e.name }}
{{- fail (printf "extraEnv: %s: use the values smtp.* and sms.* (the NetworkPolicy opens their ports from them)" $e.name) }}
{{- end }}
{{- end }}
{{- $np := $v.networkPolicy }}
{{- if and (eq $v.mode "standalone") $np.enabled (not $np.publicFrom) (not $np.publicFromAnywhere) }}
{{- fail "networkPolicy.publicFrom is empty: name who reaches the public port, e.g. your ingress controller's namespace ([{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]), or set networkPolicy.publicFromAnywhere: true (a LoadBalancer Service, or no ingress controller in the cluster)" }}
{{- end }}
{{- $need := include "trustly-sidecar.gracePeriodSeconds" . | int }}
{{- if and (eq $v.mode "standalone") (lt (int $v.terminationGracePeriodSeconds) $need) }}
{{- fail (printf "terminationGracePeriodSeconds %d is too short: the sidecar needs shutdown.preStopSleepSeconds (%d) + shutdown.timeoutSeconds (%d) + 2 = %d" (int $v.terminationGracePeriodSeconds) (int $v.shutdown.preStopSleepSeconds) (int $v.shutdown.timeoutSeconds) $need) }}
{{- end }}
{{- $pdb := $v.podDisruptionBudget }}
{{- if and (eq $v.mode "standalone") $pdb.enabled }}
{{- if and (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable) }}
{{- fail "podDisruptionBudget needs minAvailable or maxUnavailable" }}
{{- end }}
{{- if and (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (null the other)" }}
{{- end }}
{{- $replicas := ternary (int $v.autoscaling.minReplicas) (int $v.replicaCount) (and $v.autoscaling.enabled true) }}
{{- if and (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) $replicas) }}
{{- fail (printf "podDisruptionBudget.minAvailable %d with %d replica(s) lets no pod be evicted: node drains would block. Use maxUnavailable: 1, more replicas, or podDisruptionBudget.enabled: false" (int $pdb.minAvailable) $replicas) }}
{{- end }}
{{- if and (kindIs "string" $pdb.minAvailable) (eq $pdb.minAvailable "100%") }}
{{- fail "podDisruptionBudget.minAvailable 100% lets no pod be evicted: node drains would block" }}
{{- end }}
{{- if and (not (kindIs "invalid" $pdb.maxUnavailable)) (not (kindIs "string" $pdb.maxUnavailable)) (lt (int $pdb.maxUnavailable) 1) }}
{{- fail "podDisruptionBudget.maxUnavailable 0 lets no pod be evicted: node drains would block" }}
{{- end }}
{{- end }}
{{- if eq (int $v.ports.public) (int $v.ports.private) }}
{{- fail "ports.public and ports.private must differ: each listener needs its own port" }}
{{- end }}
{{- end }}

{{/*
The port of an http(s) URL: the explicit one, else 443 for https and 80 for http.
*/}}
{{- define "trustly-sidecar.urlPort" -}}
{{- $port := regexReplaceAll "^[a-zA-Z]+://[^/?#@]*?(:([0-9]+))?([/?#].*)?$" . "${2}" }}
{{- if $port }}{{ $port }}{{ else if hasPrefix "http://" . }}80{{ else }}443{{ end }}
{{- end }}

{{/*
The TCP ports the sidecar connects to, as JSON: trustly (trustly.url's, 443 by default),
redis (the ports of redis.addrs and networkPolicy.redisPorts), delivery (smtp.addr,
sms.url or Twilio's 443, and http(s) URLs among adapterEnv's values: the adapter runs in
the pod). Each list sorted and without repeats.
*/}}
{{- define "trustly-sidecar.egressPorts" -}}
{{- $v := .values }}
{{- $trustly := list (include "trustly-sidecar.urlPort" (default "https://" $v.trustly.url) | int) }}
{{- $redis := list }}
{{- if ne $v.redis.mode "embedded" }}
{{- range $v.redis.addrs }}
{{- $redis = append $redis (regexReplaceAll "^.*:([0-9]+)$" . "${1}" | int) }}
{{- end }}
{{- range $v.networkPolicy.redisPorts }}
{{- $redis = append $redis (int .) }}
{{- end }}
{{- end }}
{{- $delivery := list }}
{{- with $v.smtp.addr }}
{{- $delivery = append $delivery (regexReplaceAll "^.*:([0-9]+)$" . "${1}" | int) }}
{{- end }}
{{- if $v.sms.gateway }}
{{- $delivery = append $delivery (include "trustly-sidecar.urlPort" (default "https://" $v.sms.url) | int) }}
{{- end }}
{{- range $name, $value := $v.adapterEnv | default dict }}
{{- if regexMatch "^https?://" $value }}
{{- $delivery = append $delivery (include "trustly-sidecar.urlPort" $value | int) }}
{{- end }}
{{- end }}
{{- toJson (dict "trustly" $trustly "redis" ($redis | uniq) "delivery" ($delivery | uniq)) }}
{{- end }}

{{/*
The seconds of terminationGracePeriodSeconds the sidecar needs: its preStop sleep, its
SHUTDOWN_TIMEOUT and 2 s for the process to exit. Beside the shop, the pod's grace period
is shared: the shop's chart adds what its own containers need (native sidecars are
stopped after them), e.g.
  terminationGracePeriodSeconds: {{ add 10 (include "trustly-sidecar.gracePeriodSeconds" $trustly) }}
*/}}
{{- define "trustly-sidecar.gracePeriodSeconds" -}}
{{- add (int .values.shutdown.preStopSleepSeconds) (int .values.shutdown.timeoutSeconds) 2 }}
{{- end }}

{{/* The sidecar's environment: settings as values, every secret as a _FILE path. */}}
{{- define "trustly-sidecar.env" -}}
{{- $v := .values -}}
- name: TRUSTLY_SIDECAR_ENVIRONMENT
  value: {{ $v.trustly.environment | quote }}
{{- with $v.trustly.url }}
- name: TRUSTLY_SIDECAR_TRUSTLY_URL
  value: {{ . | quote }}
{{- end }}
{{- if $v.trustly.publicKey }}
- name: TRUSTLY_SIDECAR_TRUSTLY_PUBLIC_KEY_FILE
  value: {{ include "trustly-sidecar.configDir" . }}/trustly-public-key.pem
{{- end }}
- name: TRUSTLY_SIDECAR_TRUSTLY_USERNAME
  value: {{ $v.trustly.username | quote }}
- name: TRUSTLY_SIDECAR_PUBLIC_BASE_URL
  value: {{ $v.publicBaseURL | quote }}
- name: TRUSTLY_SIDECAR_PUBLIC_ADDR
  value: {{ printf ":%d" (int $v.ports.public) | quote }}
{{- /* Beside the shop, only the shop's containers (the pod's localhost) call it. */}}
- name: TRUSTLY_SIDECAR_PRIVATE_ADDR
  value: {{ printf "%s:%d" (ternary "127.0.0.1" "" (eq $v.mode "sidecar")) (int $v.ports.private) | quote }}
{{- with include "trustly-sidecar.adapter" . }}
- name: TRUSTLY_SIDECAR_ADAPTER
  value: {{ . | quote }}
{{- end }}
{{- with $v.smtp.addr }}
- name: TRUSTLY_SIDECAR_SMTP_ADDR
  value: {{ . | quote }}
- name: TRUSTLY_SIDECAR_SMTP_FROM
  value: {{ $v.smtp.from | quote }}
{{- with $v.smtp.username }}
- name: TRUSTLY_SIDECAR_SMTP_USERNAME
  value: {{ . | quote }}
{{- end }}
- name: TRUSTLY_SIDECAR_SMTP_STARTTLS
  value: {{ $v.smtp.startTLS | quote }}
{{- end }}
{{- with $v.sms.gateway }}
- name: TRUSTLY_SIDECAR_SMS_GATEWAY
  value: {{ . | quote }}
{{- with $v.sms.url }}
- name: TRUSTLY_SIDECAR_SMS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.sms.username }}
- name: TRUSTLY_SIDECAR_SMS_USERNAME
  value: {{ . | quote }}
{{- end }}
- name: TRUSTLY_SIDECAR_SMS_FROM
  value: {{ $v.sms.from | quote }}
{{- end }}
- name: TRUSTLY_SIDECAR_SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int $v.shutdown.timeoutSeconds) | quote }}
- name: TRUSTLY_SIDECAR_LOG_LEVEL
  value: {{ $v.log.level | quote }}
- name: TRUSTLY_SIDECAR_LOG_FORMAT
  value: {{ $v.log.format | quote }}
- name: TRUSTLY_SIDECAR_REDIS_MODE
  value: {{ $v.redis.mode | quote }}
{{- if ne $v.redis.mode "embedded" }}
- name: TRUSTLY_SIDECAR_REDIS_ADDRS
  value: {{ join "," $v.redis.addrs | quote }}
{{- with $v.redis.masterName }}
- name: TRUSTLY_SIDECAR_REDIS_MASTER_NAME
  value: {{ . | quote }}
{{- end }}
{{- with $v.redis.username }}
- name: TRUSTLY_SIDECAR_REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with $v.redis.sentinel.username }}
- name: TRUSTLY_SIDECAR_REDIS_SENTINEL_USERNAME
  value: {{ . | quote }}
{{- end }}
- name: TRUSTLY_SIDECAR_REDIS_DB
  value: {{ $v.redis.db | quote }}
- name: TRUSTLY_SIDECAR_REDIS_TLS
  value: {{ $v.redis.tls | quote }}
- name: TRUSTLY_SIDECAR_REDIS_DIAL_TIMEOUT
  value: {{ $v.redis.dialTimeout | quote }}
{{- end }}
- name: TRUSTLY_SIDECAR_REDIS_PREFIX
  value: {{ $v.redis.prefix | quote }}
{{- $dir := include "trustly-sidecar.secretDir" . }}
{{- $adapterEnv := list }}
{{- range $f := include "trustly-sidecar.secretFiles" . | fromJsonArray }}
{{- if $f.platform }}
{{- /* The adapter's own secrets keep their names; the sidecar passes them on. */}}
- name: {{ $f.variable }}_FILE
{{- $adapterEnv = append $adapterEnv (printf "%s_FILE" $f.variable) }}
{{- else }}
- name: TRUSTLY_SIDECAR_{{ $f.variable }}_FILE
{{- end }}
  value: {{ printf "%s/%s" $dir $f.key }}
{{- end }}
{{- range $name := keys ($v.adapterEnv | default dict) | sortAlpha }}
- name: {{ $name }}
  value: {{ index $v.adapterEnv $name | quote }}
{{- $adapterEnv = append $adapterEnv $name }}
{{- end }}
{{- if and (include "trustly-sidecar.adapter" .) $adapterEnv }}
- name: TRUSTLY_SIDECAR_ADAPTER_ENV
  value: {{ join "," $adapterEnv | quote }}
{{- end }}
{{- /* go-plugin puts the adapter's unix socket in TMPDIR; the image has no /tmp. */}}
- name: TMPDIR
  value: {{ include "trustly-sidecar.tmpDir" . }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The sidecar container. With "native" true in the context it is a Kubernetes native
sidecar (an init container with restartPolicy Always): it starts before the shop's
containers, which start only once its startup probe passes, and stops after them.
*/}}
{{- define "trustly-sidecar.container" -}}
{{- include "trustly-sidecar.validate" . }}
{{- $v := .values -}}
- name: {{ include "trustly-sidecar.name" . }}
  image: {{ include "trustly-sidecar.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  args: [serve]
  ports:
    - name: trustly-public
      containerPort: {{ $v.ports.public }}
      protocol: TCP
    {{- if eq $v.mode "sidecar" }}
    # Bound to 127.0.0.1: declared so that no other container of the pod takes the port.
    {{- end }}
    - name: trustly-private
      containerPort: {{ $v.ports.private }}
      protocol: TCP
  env:
    {{- include "trustly-sidecar.env" . | nindent 4 }}
  startupProbe:
    httpGet:
      path: /healthz
      port: trustly-public
    periodSeconds: {{ $v.probes.startup.periodSeconds }}
    failureThreshold: {{ $v.probes.startup.failureThreshold }}
    timeoutSeconds: {{ $v.probes.startup.timeoutSeconds }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: trustly-public
    periodSeconds: {{ $v.probes.liveness.periodSeconds }}
    failureThreshold: {{ $v.probes.liveness.failureThreshold }}
    timeoutSeconds: {{ $v.probes.liveness.timeoutSeconds }}
  {{- /*
  Standalone: /readyz (Redis, the adapter) takes a pod out of its Service while they
  are down. Beside the shop the sidecar's readiness is the pod's: a Redis blip must
  not take the storefront out of its Service, so readiness is the process answering
  (/healthz); Redis and the adapter are reported on /readyz and payments answer 503.
  */}}
  readinessProbe:
    httpGet:
      {{- if eq $v.mode "sidecar" }}
      path: /healthz
      port: trustly-public
      {{- else }}
      path: /readyz
      port: trustly-private
      {{- end }}
    periodSeconds: {{ $v.probes.readiness.periodSeconds }}
    failureThreshold: {{ $v.probes.readiness.failureThreshold }}
    timeoutSeconds: {{ $v.probes.readiness.timeoutSeconds }}
  {{- if and $v.shutdown.preStopSleepSeconds (semverCompare ">=1.30-0" .root.Capabilities.KubeVersion.Version) }}
  # Drain first: the pod leaves its Service's endpoints while the listeners still serve;
  # then SIGTERM, and requests in flight get SHUTDOWN_TIMEOUT to finish.
  lifecycle:
    preStop:
      sleep:
        seconds: {{ $v.shutdown.preStopSleepSeconds }}
  {{- end }}
  resources:
    {{- toYaml $v.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: trustly-sidecar-secrets
      mountPath: {{ include "trustly-sidecar.secretDir" . }}
      readOnly: true
    {{- if $v.trustly.publicKey }}
    - name: trustly-sidecar-config
      mountPath: {{ include "trustly-sidecar.configDir" . }}
      readOnly: true
    {{- end }}
    - name: trustly-sidecar-tmp
      mountPath: {{ include "trustly-sidecar.tmpDir" . }}
    {{- if $v.adapterImage.repository }}
    - name: trustly-sidecar-adapters
      mountPath: {{ include "trustly-sidecar.adapterDir" . }}
      readOnly: true
    {{- end }}
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The native sidecar, for a shop's pod spec: initContainers: {{ include ... }} */}}
{{- define "trustly-sidecar.initContainer" -}}
{{- if .values.adapterImage.repository }}
{{- include "trustly-sidecar.adapterInstall" . }}
{{ end }}
{{- include "trustly-sidecar.container" (dict "root" .root "values" .values "native" true) }}
{{- end }}

{{/* The volumes the container mounts; goes into the pod's volumes. */}}
{{- define "trustly-sidecar.volumes" -}}
- name: trustly-sidecar-secrets
  secret:
    secretName: {{ include "trustly-sidecar.secretName" . }}
    # 0400: owner-only. The files are group-owned by the pod's fsGroup, which kubelet
    # lets read, so the pod needs securityContext.fsGroup.
    defaultMode: 256
    items:
      {{- range $f := include "trustly-sidecar.secretFiles" . | fromJsonArray }}
      - key: {{ $f.key }}
        path: {{ $f.key }}
      {{- end }}
{{- if .values.trustly.publicKey }}
- name: trustly-sidecar-config
  configMap:
    name: {{ include "trustly-sidecar.fullname" . }}
    defaultMode: 292 # 0444: a public key
{{- end }}
# The adapter's go-plugin socket (TMPDIR): memory-backed, counted in the sidecar's memory.
- name: trustly-sidecar-tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ .values.tmpSizeLimit }}
{{- if .values.adapterImage.repository }}
# The adapter's executable, copied from adapterImage by an init container.
- name: trustly-sidecar-adapters
  emptyDir:
    sizeLimit: {{ .values.adapterImage.sizeLimit }}
{{- end }}
{{- with .values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
For a shop's chart: a volume with the shop API token alone (a projected item of the
sidecar's Secret), for the shop's container to mount. Never mount trustly-sidecar-secrets
into the shop: it holds the Trustly password and the merchant key.
*/}}
{{- define "trustly-sidecar.shopTokenVolume" -}}
- name: trustly-sidecar-shop-api-token
  projected:
    defaultMode: 256 # 0400, readable through the pod's fsGroup like the sidecar's files
    sources:
      - secret:
          name: {{ include "trustly-sidecar.secretName" . }}
          items:
            - key: shop-api-token
              path: shop-api-token
{{- end }}

{{/*
Annotations that roll the pod when the created Secret or the ConfigMap changes (the
sidecar reads its files at start only).
*/}}
{{- define "trustly-sidecar.podAnnotations" -}}
{{- $a := dict }}
{{- if not .values.secrets.existingSecret }}
{{- $_ := set $a "checksum/trustly-sidecar-secret" (include "trustly-sidecar.secretData" . | sha256sum) }}
{{- end }}
{{- if .values.trustly.publicKey }}
{{- $_ := set $a "checksum/trustly-sidecar-config" (.values.trustly.publicKey | sha256sum) }}
{{- end }}
{{- if $a }}{{ toYaml $a }}{{ end }}
{{- end }}

{{- define "trustly-sidecar.secretData" -}}
{{- $s := .values.secrets -}}
trustly-password: {{ $s.trustlyPassword | b64enc }}
merchant-private-key: {{ $s.merchantPrivateKey | b64enc }}
notification-secret: {{ $s.notificationSecret | b64enc }}
shop-api-token: {{ $s.shopApiToken | b64enc }}
{{- with $s.redisPassword }}
redis-password: {{ . | b64enc }}
{{- end }}
{{- with $s.redisSentinelPassword }}
redis-sentinel-password: {{ . | b64enc }}
{{- end }}
{{- with $s.metricsToken }}
metrics-token: {{ . | b64enc }}
{{- end }}
{{- with $s.smtpPassword }}
smtp-password: {{ . | b64enc }}
{{- end }}
{{- with $s.smsPassword }}
sms-password: {{ . | b64enc }}
{{- end }}
{{- range $name := keys ($s.platform | default dict) | sortAlpha }}
{{ $name }}: {{ index $s.platform $name | b64enc }}
{{- end }}
{{- end }}

{{/*
The port a Service opens to the public listener, named "trustly". Only the public
listener: the private one is for the pod itself.
*/}}
{{- define "trustly-sidecar.servicePort" -}}
- name: trustly
  port: {{ .values.ports.public }}
  targetPort: trustly-public
  protocol: TCP
{{- end }}

{{/*
Ingress paths to the public routes (notifications, pay-link pages) of the Service named
in the context's "service" (its port "trustly").
*/}}
{{- define "trustly-sidecar.ingressPaths" -}}
{{- $service := .service -}}
{{- range $path := .values.ingress.paths }}
- path: {{ $path }}
  pathType: Prefix
  backend:
    service:
      name: {{ $service }}
      port:
        name: trustly
{{- end }}
{{- end }}

{{/* Names, labels and the small rules every template shares. */}}

{{- define "tongxin.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<name>, unless the release name already says it. */}}
{{- define "tongxin.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "tongxin.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: (dict "root" $ "component" "orders"). */}}
{{- define "tongxin.componentName" -}}
{{- printf "%s-%s" (include "tongxin.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The recommended labels of a component. */}}
{{- define "tongxin.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "tongxin.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tongxin
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels that select a component's pods (never change on upgrade). */}}
{{- define "tongxin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tongxin.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every pod of this release that the chart itself runs (not NATS, not PostgreSQL). */}}
{{- define "tongxin.releasePodLabels" -}}
app.kubernetes.io/name: {{ include "tongxin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tongxin.serviceAccountName" -}}
{{- default (include "tongxin.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* registry/repository:tag, or @digest when one is given. (dict "image" .. "default" tag) */}}
{{- define "tongxin.image" -}}
{{- if .image.digest -}}
{{- printf "%s/%s@%s" .image.registry .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .image.registry .image.repository (default .default .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* A service's values: serviceDefaults overlaid by its own entry. (dict "root" $ "name" n) */}}
{{- define "tongxin.service" -}}
{{- $svc := index .root.Values.services .name -}}
{{- toYaml (mustMergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{/* The enabled services, sorted, as a YAML list of names. */}}
{{- define "tongxin.enabledServices" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- toYaml (sortAlpha $names) -}}
{{- end -}}

{{/* TONGXIN_<SECTION>__<KEY> for a setting key (dots are nesting). (dict "section" s "key" k) */}}
{{- define "tongxin.envName" -}}
{{- printf "TONGXIN_%s__%s" (upper .section) (.key | replace "." "__" | upper) -}}
{{- end -}}

{{/* The CloudNativePG cluster's name. */}}
{{- define "tongxin.pgCluster" -}}
{{- include "tongxin.componentName" (dict "root" . "component" "pg") -}}
{{- end -}}

{{/* The NATS URL when the chart brings NATS (the official chart's client Service). */}}
{{- define "tongxin.bundledNatsUrl" -}}
{{- $nats := ternary .Release.Name (printf "%s-nats" .Release.Name) (contains "nats" .Release.Name) -}}
{{- printf "nats://%s:4222" ($nats | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/* Pod and container security context: the Pod Security "restricted" profile. */}}
{{- define "tongxin.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tongxin.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The CloudNativePG application user, for the database URLs below (CloudNativePG mode). */}}
{{- define "tongxin.pgCredentialsEnv" -}}
{{- if .Values.postgresql.cloudnativepg.enabled }}
{{- $cluster := include "tongxin.pgCluster" . }}
- name: TONGXIN_PG_USER
  valueFrom:
    secretKeyRef: {name: {{ printf "%s-app" $cluster }}, key: username}
- name: TONGXIN_PG_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ printf "%s-app" $cluster }}, key: password}
{{- end }}
{{- end -}}

{{/* A service's database URL: from its Secret, or composed from the CloudNativePG app user
     ($(VAR) expands the variables tongxin.pgCredentialsEnv defines before it, inside the
     pod: the password never appears in a manifest). (dict "root" $ "svc" s) */}}
{{- define "tongxin.databaseUrlEnv" -}}
{{- $name := include "tongxin.envName" (dict "section" .svc.section "key" "database.url") -}}
{{- if .root.Values.postgresql.cloudnativepg.enabled }}
- name: {{ $name }}
  value: {{ printf "postgres://$(TONGXIN_PG_USER):$(TONGXIN_PG_PASSWORD)@%s-rw:5432/%s" (include "tongxin.pgCluster" .root) .svc.database.name | quote }}
{{- else }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: {name: {{ .svc.database.secretName }}, key: {{ .svc.database.key }}}
{{- end }}
{{- end -}}

{{/* The NATS URL env, when it comes from a Secret. */}}
{{- define "tongxin.natsEnv" -}}
{{- if and (not .Values.nats.enabled) .Values.events.urlSecret.secretName }}
- name: TONGXIN_EVENTS__NATS_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.events.urlSecret.secretName }}, key: {{ .Values.events.urlSecret.key }}}
{{- end }}
{{- end -}}

{{/* Egress every tongxin pod needs: DNS, NATS, PostgreSQL, and networkPolicy.extraEgress. */}}
{{- define "tongxin.np.commonEgress" -}}
{{- $np := .Values.networkPolicy -}}
- # DNS
  to:
    - namespaceSelector: {}
      podSelector:
        matchLabels: {k8s-app: kube-dns}
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- if .Values.nats.enabled }}
- # NATS, the release's own
  to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: nats
          app.kubernetes.io/instance: {{ .Release.Name }}
  ports: [{port: 4222, protocol: TCP}]
{{- else }}
- # NATS, external
  ports: [{port: {{ $np.natsPort }}, protocol: TCP}]
  {{- with $np.natsTo }}
  to: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if .Values.postgresql.cloudnativepg.enabled }}
- # PostgreSQL, the release's CloudNativePG cluster
  to:
    - podSelector:
        matchLabels: {cnpg.io/cluster: {{ include "tongxin.pgCluster" . }}}
  ports: [{port: 5432, protocol: TCP}]
{{- else }}
- # PostgreSQL, external
  ports: [{port: {{ $np.postgresqlPort }}, protocol: TCP}]
  {{- with $np.postgresqlTo }}
  to: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

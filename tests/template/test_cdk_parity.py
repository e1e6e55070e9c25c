"""The CDK app (infra/cdk) and template.yaml define the same stack: the app is synthesized by the
real `cdk synth` (scripts/cdk-synth, without building the functions), template.yaml is expanded by
the SAM translator, and the facts a deployment depends on (parity.py) must be equal. The checker
itself is tested: a memory size, an index, a grant or a route changed in only one of the two fails
it, naming what differs."""

import copy

import pytest

from parity import Template, differences
from sam import REQUIRED, read, transformed

# Parameters only one tool has: CDK's check that the account's bootstrap stack is recent enough,
# and Managed Instances, which the SAM translator cannot make depend on a parameter
# (test_managed_instances.py); off, the app's stack is template.yaml's.
ONLY_CDK = {"parameter BootstrapVersion", "parameter ManagedInstances", "parameter ManagedInstancesSubnetIds",
            "parameter ManagedInstancesSecurityGroupIds"}


def values(source, **parameters):
    defaults = {n: p["Default"] for n, p in source["Parameters"].items() if "Default" in p}
    return {**defaults, **REQUIRED, **parameters}


def sam_facts(source=None, **parameters):
    source, template = transformed(source, **parameters)
    template = {**template, "Outputs": source["Outputs"], "Parameters": source["Parameters"]}
    return Template(template, values(source, **parameters), cdk=False).facts()


def cdk_facts(synthesized, **parameters):
    return Template(synthesized, values(synthesized, **values(read(), **parameters)), cdk=True).facts()


# An ADOT collector layer as a deployment names it (docs/operations.md, "Traces").
COLLECTOR = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1"


@pytest.mark.parametrize("parameters", [{}, {"DeploymentStrategy": "AllAtOnce", "MaxOrderTotal": "100000"},
                                        {"TracesCollectorLayer": COLLECTOR, "TracesSampleRatio": "0.1"}])
def test_the_cdk_app_defines_the_stack_of_template_yaml(synthesized, parameters):
    assert differences(sam_facts(**parameters), cdk_facts(synthesized, **parameters), only_cdk=ONLY_CDK) == []


def test_the_comparison_covers_every_part_of_the_stack(synthesized):
    kinds = {}
    for key in cdk_facts(synthesized):
        kind = key.rsplit(" ", 1)[0] if key.startswith(("route", "stage")) else key.split(" ")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    # 13 functions and the release check; 9 routes; 3 schedules; every alarm of the template.
    assert kinds["function"] == kinds["policy"] == kinds["alias"] == 14
    assert kinds["deployment"] == 13 and kinds["schedule"] == 3 and kinds["event"] == 1
    assert sum(v for k, v in kinds.items() if k.startswith("route")) == 9
    assert kinds["alarm"] == 26 + 9 and kinds["table"] == 1 and kinds["queue"] == 3 + 1 and kinds["secret"] == 4
    # (3 queues and the failed-runs queue's policy.) Each function's log group and the access logs.
    assert kinds["log"] == 15


# The checker, on changes made to one side only.

def cdk_resource(template, stem, kind):
    (name,) = [n for n, r in template["Resources"].items() if n.startswith(stem) and r["Type"] == kind]
    return template["Resources"][name]


def test_a_memory_size_changed_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    cdk_resource(changed, "OrdersGetFunction", "AWS::Lambda::Function")["Properties"]["MemorySize"] = 2048
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert found == ['function OrdersGetFunction: MemorySize is "128" in template.yaml, "2048" in the CDK app']


def test_a_function_without_the_collector_layer_in_the_cdk_app_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    del cdk_resource(changed, "PaymentWebhookFunction", "AWS::Lambda::Function")["Properties"]["Layers"]
    found = differences(sam_facts(TracesCollectorLayer=COLLECTOR), cdk_facts(changed, TracesCollectorLayer=COLLECTOR),
                        only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("function PaymentWebhookFunction: Layers is"), found
    assert COLLECTOR in found[0], found


def test_an_index_changed_in_template_yaml_only_is_named(synthesized):
    source = read()
    table = source["Resources"]["OrdersTable"]["Properties"]
    (gsi3,) = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "gsi3"]
    gsi3["Projection"] = {"ProjectionType": "ALL"}
    found = differences(sam_facts(source), cdk_facts(synthesized), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("table OrdersTable: GlobalSecondaryIndexes is"), found
    assert '"gsi3": {"KeySchema"' in found[0] and '"ProjectionType": "ALL"' in found[0], found


def test_a_grant_missing_from_the_cdk_app_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    policy = cdk_resource(changed, "OrdersUpdateFunctionServiceRoleDefaultPolicy", "AWS::IAM::Policy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if not str(s["Action"]).startswith("sqs:SendMessage")]
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("policy of OrdersUpdateFunction: template.yaml alone has"), found
    assert "sqs:SendMessage*" in found[0]


def test_a_route_left_without_its_authorizer_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    route = next(r for r in changed["Resources"].values()
                 if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"]["RouteKey"] == "DELETE /orders/{id}")
    route["Properties"]["AuthorizationType"] = "NONE"
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert found == ['route DELETE /orders/{id}: Authorization is "JWT" in template.yaml, "NONE" in the CDK app']


def test_a_resource_only_one_side_has_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    del changed["Resources"][next(n for n in changed["Resources"] if n.startswith("LedgerUnbalancedAlarm"))]
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert found == ["alarm LedgerUnbalancedAlarm: only in template.yaml"]


def test_the_codedeploy_roles_managed_policy_changed_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    role = cdk_resource(changed, "CodeDeployServiceRole", "AWS::IAM::Role")
    role["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"]
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("role CodeDeployServiceRole: ManagedPolicies is"), found


def test_a_managed_policy_on_a_functions_role_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    role = cdk_resource(changed, "PaymentWebhookFunctionServiceRole", "AWS::IAM::Role")
    role["Properties"]["ManagedPolicyArns"].append("arn:aws:iam::aws:policy/SecretsManagerReadWrite")
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("managed policies of PaymentWebhookFunction"), found


def test_reserved_concurrency_in_template_yaml_only_is_named(synthesized):
    source = read()
    source["Resources"]["PaymentReconcilerFunction"]["Properties"]["ReservedConcurrentExecutions"] = 2
    found = differences(sam_facts(source), cdk_facts(synthesized), only_cdk=ONLY_CDK)
    assert len(found) == 1 and "ReservedConcurrentExecutions" in found[0], found


def test_a_schedule_disabled_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    rule = next(r for r in changed["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    rule["Properties"]["State"] = "DISABLED"
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("schedule ") and "DISABLED" in found[0], found


def test_a_log_retention_changed_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    cdk_resource(changed, "PaymentsRefundLogs", "AWS::Logs::LogGroup")["Properties"]["RetentionInDays"] = 7
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert found == ['log group PaymentsRefundLogs: RetentionInDays is "30" in template.yaml, "7" in the CDK app']


def test_a_scheduled_function_without_its_dead_letter_queue_in_template_yaml_is_named(synthesized):
    source = read()
    del source["Resources"]["DailyReportFunction"]["Properties"]["DeadLetterQueue"]
    found = differences(sam_facts(source), cdk_facts(synthesized), only_cdk=ONLY_CDK)
    assert any(f.startswith("function DailyReportFunction: DeadLetterConfig is null in template.yaml") for f in found), found


def test_bucket_versioning_off_in_the_cdk_app_only_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    del cdk_resource(changed, "ExportsBucket", "AWS::S3::Bucket")["Properties"]["VersioningConfiguration"]
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("bucket ExportsBucket: VersioningConfiguration is"), found


def test_a_rule_missing_from_a_queue_policy_in_the_cdk_app_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    policy = cdk_resource(changed, "FailedRunsQueuePolicy", "AWS::SQS::QueuePolicy")
    policy["Properties"]["PolicyDocument"]["Statement"].pop()
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert len(found) == 1 and found[0].startswith("queue policy of ${FailedRunsQueue}: template.yaml alone has"), found


def test_a_function_running_another_binary_in_the_cdk_app_is_named(synthesized):
    changed = copy.deepcopy(synthesized)
    function = cdk_resource(changed, "OrdersCancelFunction", "AWS::Lambda::Function")
    function["Metadata"]["BuildProperties"]["Binary"] = "orders-update"
    found = differences(sam_facts(), cdk_facts(changed), only_cdk=ONLY_CDK)
    assert found == ['function OrdersCancelFunction: Binary is "orders-cancel" in template.yaml, "orders-update" in the CDK app']

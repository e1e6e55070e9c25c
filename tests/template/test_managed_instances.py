"""Lambda Managed Instances, the CDK app's deployment option (infra/cdk/lib/managed-instances.ts).
With the ManagedInstances parameter on, every API function and the queue consumer runs on the
stack's capacity provider, many invocations per environment; off, the app's stack is template.yaml's
(test_cdk_parity.py). Why template.yaml cannot offer the option is shown here too."""

import pytest
from samtranslator.model.exceptions import InvalidDocumentException

from parity import Template, differences
from sam import read, transformed
from test_cdk_parity import ONLY_CDK, cdk_facts, sam_facts, values

NETWORK = {"ManagedInstancesSubnetIds": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
           "ManagedInstancesSecurityGroupIds": ["sg-0123456789abcdef0"]}
ON = {"ManagedInstances": "true", **NETWORK}


def steadily_loaded(facts):
    """The functions a route or the order queue invokes, by name."""
    aliases = {f["Function"] for k, f in facts.items() if k.startswith("route ")}
    aliases |= {k.removeprefix("event source of ") for k in facts if k.startswith("event source of ")}
    return {a.removesuffix("Aliaslive") for a in aliases}


def attached(facts):
    return {k.removeprefix("function "): f["CapacityProviderConfig"] for k, f in facts.items()
            if k.startswith("function ") and "CapacityProviderConfig" in f}


def test_on_every_api_function_and_the_queue_consumer_runs_on_the_capacity_provider(synthesized):
    facts = cdk_facts(synthesized, **ON)
    on = attached(facts)
    assert set(on) == steadily_loaded(facts) and len(on) == 10, sorted(on)
    for name, config in on.items():
        assert config == {"LambdaManagedInstancesCapacityProviderConfig": {
            "CapacityProviderArn": "${CapacityProvider.Arn}", "PerExecutionEnvironmentMaxConcurrency": "32"}}, name
        assert facts[f"function {name}"]["MemorySize"] == "2048", name
    # The schedules and the release check keep their on-demand size.
    off = cdk_facts(synthesized)
    for key, fact in facts.items():
        if key.startswith("function ") and key.removeprefix("function ") not in on:
            assert fact == off[key], key


def test_the_capacity_provider_runs_graviton_in_the_given_network_operated_by_lambda(synthesized):
    resources = synthesized["Resources"].values()
    (p,) = [r["Properties"] for r in resources if r["Type"] == "AWS::Lambda::CapacityProvider"]
    assert p["InstanceRequirements"]["Architectures"] == ["arm64"]
    assert {a for r in resources if r["Type"] == "AWS::Lambda::Function" for a in r["Properties"]["Architectures"]} == {
        "arm64"}
    assert p["VpcConfig"] == {"SubnetIds": {"Ref": "ManagedInstancesSubnetIds"},
                              "SecurityGroupIds": {"Ref": "ManagedInstancesSecurityGroupIds"}}
    role = cdk_facts(synthesized, **ON)["role CapacityProviderOperatorRole"]
    assert role["ManagedPolicies"] == ["arn:aws:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"]
    assert [(g[0], g[1], g[2]) for g in role["AssumedBy"]] == [
        ("Allow", '{"Service": "lambda.amazonaws.com"}', "sts:AssumeRole")]
    assert role["Policies"] == []


def test_off_nothing_runs_on_ec2(synthesized):
    facts = cdk_facts(synthesized)
    assert attached(facts) == {} and "role CapacityProviderOperatorRole" not in facts


def test_the_parity_check_decides_the_condition_and_sees_the_option_on(synthesized):
    found = differences(sam_facts(), cdk_facts(synthesized, **ON), only_cdk=ONLY_CDK)
    assert "role CapacityProviderOperatorRole: only in the CDK app" in found
    changed = [f for f in found if f.startswith("function ")]
    assert len(changed) == 10 and all("CapacityProviderConfig is null in template.yaml" in f and "MemorySize" in f
                                      for f in changed), changed


# The rule that refuses the option without a network, evaluated as CloudFormation evaluates rules.

def rule_holds(expression, parameters):
    (fn, arg), = expression.items()
    if fn == "Ref":
        return parameters[arg]
    if fn == "Fn::Equals":
        return rule_holds(arg[0], parameters) == arg[1]
    if fn == "Fn::Not":
        return not rule_holds(arg[0], parameters)
    if fn == "Fn::Contains":
        return arg[1] in rule_holds(arg[0], parameters)
    raise ValueError(fn)


def refusals(synthesized, **parameters):
    parameters = {"ManagedInstances": "false", "ManagedInstancesSubnetIds": [""],
                  "ManagedInstancesSecurityGroupIds": [""], **parameters}
    rule = synthesized["Rules"]["ManagedInstancesNeedANetwork"]
    if not rule_holds(rule["RuleCondition"], parameters):
        return []
    return [a["AssertDescription"] for a in rule["Assertions"] if not rule_holds(a["Assert"], parameters)]


def test_managed_instances_without_a_network_are_refused_before_anything_is_created(synthesized):
    assert refusals(synthesized) == []
    assert refusals(synthesized, **ON) == []
    assert refusals(synthesized, ManagedInstances="true") == [
        "ManagedInstances needs ManagedInstancesSubnetIds", "ManagedInstances needs ManagedInstancesSecurityGroupIds"]
    assert refusals(synthesized, ManagedInstances="true", ManagedInstancesSubnetIds=NETWORK["ManagedInstancesSubnetIds"]) == [
        "ManagedInstances needs ManagedInstancesSecurityGroupIds"]


# Why template.yaml has no such parameter (SAM translator 1.115). When one of these fails, the
# translator has learnt it: give template.yaml the option and drop it from ONLY_CDK.

ARN = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:platform"


def with_capacity_provider(config):
    source = read()
    source["Conditions"]["OnManagedInstances"] = {"Fn::Equals": ["false", "true"]}
    source["Resources"]["OrdersGetFunction"]["Properties"]["CapacityProviderConfig"] = config
    return source


def test_the_sam_translator_refuses_a_capacity_provider_that_depends_on_a_condition():
    source = with_capacity_provider({"Fn::If": ["OnManagedInstances", {"Arn": ARN}, {"Ref": "AWS::NoValue"}]})
    with pytest.raises(InvalidDocumentException, match="CapacityProviderConfig"):
        transformed(source)


def test_a_conditional_arn_leaves_an_on_demand_function_a_capacity_provider_config_without_one():
    source = with_capacity_provider({"Arn": {"Fn::If": ["OnManagedInstances", ARN, {"Ref": "AWS::NoValue"}]}})
    source, template = transformed(source)
    function = Template(template, values(source), cdk=False).facts()["function OrdersGetFunction"]
    # CloudFormation's schema requires CapacityProviderArn there: the stack would not deploy.
    assert function["CapacityProviderConfig"] == {"LambdaManagedInstancesCapacityProviderConfig": {}}

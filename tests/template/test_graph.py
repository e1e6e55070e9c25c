"""No dependency cycle in what CloudFormation receives: template.yaml expanded by the SAM translator
(under each release strategy) and the CDK app's synth. cfn-lint skips cycles through resources that
are SAM types in the source, so the expanded templates are checked here, every reference counted
(graph.py). The check itself is tested on the defect it exists for."""

import pytest

from graph import cycles, dependencies
from sam import expand, read


@pytest.mark.parametrize("strategy", ["Canary10Percent5Minutes", "AllAtOnce"])
def test_the_expanded_template_has_no_dependency_cycle(strategy):
    _, resources = expand(DeploymentStrategy=strategy)
    assert cycles(resources) == []


def test_the_cdk_synth_has_no_dependency_cycle(synthesized):
    assert cycles(synthesized["Resources"]) == []


def test_a_rollback_alarm_referenced_by_the_api_functions_closes_a_cycle():
    # The defect this check exists for: the API's 5xx alarm names the API, the API every function's
    # alias, each alias's UpdatePolicy its deployment group; referenced back from the group, it is
    # a cycle CloudFormation refuses.
    source = read()
    for resource in source["Resources"].values():
        preference = resource.get("Properties", {}).get("DeploymentPreference", {})
        preference["Alarms"] = [{"Ref": "Api5xxAlarm"} if isinstance(a, dict) and "Fn::Sub" in a else a
                                for a in preference.get("Alarms", [])]
    _, resources = expand(source)
    found = cycles(resources)
    assert found, "the check missed the cycle"
    assert {"Api5xxAlarm", "HttpApi", "PaymentsRefundFunctionAliaslive", "PaymentsRefundFunctionDeploymentGroup"} <= set(found[0])


def test_every_kind_of_reference_counts():
    resources = {
        "A": {"Type": "T", "UpdatePolicy": {"P": {"Name": {"Ref": "B"}}}},
        "B": {"Type": "T", "Properties": {"X": {"Fn::Sub": "${C.Arn}/x"}}},
        "C": {"Type": "T", "DependsOn": "D"},
        "D": {"Type": "T", "Properties": {"Y": {"Fn::GetAtt": ["A", "Arn"]}}},
        "E": {"Type": "T", "Metadata": {"Z": {"Ref": "A"}}, "Properties": {"V": {"Fn::Sub": ["${v}", {"v": "k"}]}}},
    }
    assert cycles(resources) == [["A", "B", "C", "D"]]
    assert dependencies(resources)["E"] == set(), "Metadata is not resolved; a Sub variable is not a resource"

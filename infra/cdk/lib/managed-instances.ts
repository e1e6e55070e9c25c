// Lambda Managed Instances, chosen by the ManagedInstances parameter: a capacity provider on
// Graviton EC2 in the subnets given, and every API function and the queue consumer attached to
// it, each environment serving many invocations at once (the handlers share their clients and hold
// no per-request state; tests/api/concurrency.rs runs them so). Schedules and the release check
// stay on-demand: they run once a minute or less, an always-on fleet would only cost.
//
// template.yaml has no such option: the SAM translator validates CapacityProviderConfig before
// CloudFormation evaluates conditions, so it cannot depend on a parameter there
// (tests/template/test_managed_instances.py shows it refused). Here it is plain CloudFormation.
import { CfnCondition, CfnParameter, CfnResource, CfnRule, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Deployed } from "./lambdas";

/** One vCPU per environment (2 GiB per vCPU, the ratio's floor). */
export const MEMORY_MB = 2048;
/** Invocations one environment serves at once: the figure docs/performance.md measured at. */
export const CONCURRENCY = 32;

/** Functions that may run on the capacity provider: those a steady load reaches. */
export const attachable = (d: Deployed) => d.spec.route !== undefined || d.spec.consumesQueue === true;

export function managedInstances(stack: Stack, deployed: Iterable<Deployed>) {
  const enabled = new CfnParameter(stack, "ManagedInstances", {
    type: "String",
    allowedValues: ["true", "false"],
    default: "false",
    description:
      "Run the API functions and the queue consumer on Lambda Managed Instances (EC2 capacity in your VPC, many invocations per environment) instead of on-demand.",
  });
  const subnets = new CfnParameter(stack, "ManagedInstancesSubnetIds", {
    type: "CommaDelimitedList",
    default: "",
    description:
      "With ManagedInstances: the subnets the instances run in; they must reach DynamoDB, SQS, S3, Secrets Manager and the payment provider (NAT or VPC endpoints).",
  });
  const securityGroups = new CfnParameter(stack, "ManagedInstancesSecurityGroupIds", {
    type: "CommaDelimitedList",
    default: "",
    description: "With ManagedInstances: the instances' security groups (outbound HTTPS is all they need).",
  });
  const on = new CfnCondition(stack, "OnManagedInstances", {
    expression: Fn.conditionEquals(enabled.valueAsString, "true"),
  });
  // Refused before anything is created, rather than by the capacity provider half-way through.
  new CfnRule(stack, "ManagedInstancesNeedANetwork", {
    ruleCondition: Fn.conditionEquals(enabled.valueAsString, "true"),
    assertions: [
      {
        assert: Fn.conditionNot(Fn.conditionContains(subnets.valueAsList, "")),
        assertDescription: "ManagedInstances needs ManagedInstancesSubnetIds",
      },
      {
        assert: Fn.conditionNot(Fn.conditionContains(securityGroups.valueAsList, "")),
        assertDescription: "ManagedInstances needs ManagedInstancesSecurityGroupIds",
      },
    ],
  });

  const operator = new iam.Role(stack, "CapacityProviderOperatorRole", {
    description: "Lets Lambda launch and manage the capacity provider's EC2 instances",
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("AWSLambdaManagedEC2ResourceOperator")],
  });
  (operator.node.defaultChild as CfnResource).cfnOptions.condition = on;
  const provider = new lambda.CfnCapacityProvider(stack, "CapacityProvider", {
    permissionsConfig: { capacityProviderOperatorRoleArn: operator.roleArn },
    vpcConfig: { subnetIds: subnets.valueAsList, securityGroupIds: securityGroups.valueAsList },
    instanceRequirements: { architectures: ["arm64"] }, // the functions' architecture
  });
  provider.cfnOptions.condition = on;

  for (const d of deployed) {
    if (!attachable(d)) continue;
    // Under Managed Instances a published version keeps its execution environments, and the EC2
    // they run on, until it is deleted (the SAM translator deletes such versions for this reason):
    // a release's old version goes when the update completes, after any rollback could need it.
    d.fn.currentVersion.applyRemovalPolicy(RemovalPolicy.DESTROY);
    const fn = d.fn.node.defaultChild as lambda.CfnFunction;
    fn.addPropertyOverride(
      "CapacityProviderConfig",
      Fn.conditionIf(
        on.logicalId,
        {
          LambdaManagedInstancesCapacityProviderConfig: {
            CapacityProviderArn: provider.attrArn,
            PerExecutionEnvironmentMaxConcurrency: CONCURRENCY,
          },
        },
        Fn.ref("AWS::NoValue"),
      ),
    );
    fn.addPropertyOverride("MemorySize", Fn.conditionIf(on.logicalId, MEMORY_MB, fn.memorySize));
  }
}

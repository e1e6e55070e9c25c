// Releases: CodeDeploy shifts each function's alias `live` to its new version. The release check
// probes every API function's new version before any traffic moves (its name's prefix is what
// CodeDeploy may invoke), and the new version's errors, or the API's 5xx, roll a release back.
import { Aws, Duration, Fn, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Alarms, sum } from "./alarms";
import { FunctionSpec } from "./functions";
import { Deployed, rustFunction } from "./lambdas";

export function releases(
  stack: Stack,
  deployed: Map<string, Deployed>,
  { alarms, api, common, logLevel, deploymentStrategy }: {
    alarms: Alarms;
    api: apigw.HttpApi;
    common: Record<string, string>;
    logLevel: string;
    deploymentStrategy: string;
  },
) {
  const hook = releaseCheck(stack, logLevel, common, deployed);
  const application = new codedeploy.LambdaApplication(stack, "ServerlessDeploymentApplication");
  // One service role for every deployment group, as SAM has. Each group with the hook lets the
  // hook report to that group (CDK grants it), where template.yaml grants it every group at once.
  const role = new iam.Role(stack, "CodeDeployServiceRole", {
    assumedBy: new iam.ServicePrincipal("codedeploy.amazonaws.com"),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSCodeDeployRoleForLambdaLimited")],
  });

  // Named, and named (not referenced) by the API functions' deployment groups: the alarm refers
  // to the API, the API to each alias, each alias's UpdatePolicy to its deployment group, so a
  // reference back would close a dependency cycle (as template.yaml says).
  const api5xxName = Fn.sub("${AWS::StackName}-api-5xx");
  alarms.notify(
    alarms.alarm("Api5xxAlarm", "The API answers 5xx; during a release CodeDeploy rolls the release back.", {
      metric: sum("AWS/ApiGateway", "5xx", { ApiId: api.apiId, Stage: "$default" }, 1),
      alarmName: api5xxName,
    }),
  );
  const api5xx = cloudwatch.Alarm.fromAlarmName(stack, "Api5xxAlarmByName", api5xxName);
  const strategy = codedeploy.LambdaDeploymentConfig.fromLambdaDeploymentConfigName(
    stack,
    "DeploymentStrategyConfig",
    Fn.sub("CodeDeployDefault.Lambda${Strategy}", { Strategy: deploymentStrategy }),
  );
  for (const { fn, alias, spec } of deployed.values()) {
    const shifted = spec.release === "shifted";
    const rollback = shifted ? [alarms.notify(newVersionAlarm(alarms, spec.name, fn)), ...(spec.route ? [api5xx] : [])] : [];
    new codedeploy.LambdaDeploymentGroup(stack, `${spec.name}FunctionDeploymentGroup`, {
      application,
      alias,
      role,
      deploymentConfig: shifted ? strategy : codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
      alarms: rollback,
      preHook: shifted && spec.route ? hook : undefined,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: rollback.length > 0 },
    });
  }
}

/** CodeDeploy's pre-traffic hook: template.yaml's ReleaseCheckFunction. */
function releaseCheck(stack: Stack, logLevel: string, common: Record<string, string>, deployed: Map<string, Deployed>) {
  const probed = [...deployed.values()].filter(({ spec }) => spec.route);
  const versions: Record<string, string> = {};
  for (const { fn, spec } of probed) {
    versions[`${spec.binary.toUpperCase().replace(/-/g, "_")}_VERSION`] = fn.currentVersion.functionArn;
  }
  const spec: FunctionSpec = { name: "ReleaseCheck", binary: "release-check", timeoutSeconds: 60, release: "none", statements: [] };
  const hook = rustFunction(stack, spec, logLevel, { ...common, ...versions });
  (hook.node.defaultChild as lambda.CfnFunction).functionName = `CodeDeployHook_${Aws.STACK_NAME}`;
  hook.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["lambda:InvokeFunction"],
      resources: probed.map(({ fn }) => fn.currentVersion.functionArn),
    }),
  );
  hook.addAlias("live");
  return hook;
}

/** Errors of the version being released, or throttles of the alias: CodeDeploy rolls back on it. */
function newVersionAlarm(alarms: Alarms, name: string, fn: lambda.Function) {
  const live = `${fn.functionName}:live`;
  const minute = (metricName: string, dimensionsMap: Record<string, string>) =>
    sum("AWS/Lambda", metricName, dimensionsMap, 1);
  return alarms.alarm(
    `${name}NewVersionAlarm`,
    `The version of ${name} being released fails or is throttled; CodeDeploy rolls the release back.`,
    {
      metric: new cloudwatch.MathExpression({
        expression: "errors + throttles",
        label: "errors and throttles",
        period: Duration.minutes(1),
        usingMetrics: {
          errors: minute("Errors", { FunctionName: fn.functionName, Resource: live, ExecutedVersion: fn.currentVersion.version }),
          throttles: minute("Throttles", { FunctionName: fn.functionName, Resource: live }),
        },
      }),
    },
  );
}

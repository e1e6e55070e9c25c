// Each function of functions.ts as a Lambda: built by cargo-lambda from the workspace, with its
// own log group, invoked through its alias `live` by its route, the order queue or its schedule.
import { CfnResource, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { RustFunction } from "cargo-lambda-cdk";
import * as path from "path";
import { route } from "./api";
import { skip } from "./checkov";
import { Data } from "./data";
import { FunctionSpec } from "./functions";

/** The workspace's manifest: cargo-lambda builds each function's binary from it. */
const MANIFEST = path.join(__dirname, "..", "..", "..", "..", "Cargo.toml");

export interface Deployed {
  fn: lambda.Function;
  alias: lambda.Alias;
  spec: FunctionSpec;
}

/** Every spec deployed, by name, each wired to what invokes it. */
export function deploy(stack: Stack, specs: FunctionSpec[], data: Data, api: apigw.HttpApi, logLevel: string) {
  const { queue, failedRuns } = data;
  const common = { ORDERS_TABLE: data.table.tableName, ORDER_QUEUE_URL: queue.queueUrl };
  const deployed = new Map<string, Deployed>();
  for (const spec of specs) {
    const fn = rustFunction(stack, spec, logLevel, { ...common, ...spec.environment }, spec.schedule ? failedRuns : undefined);
    for (const statement of spec.statements) fn.addToRolePolicy(statement);
    if (spec.sendsToQueue) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage*"], resources: [queue.queueArn] }));
    }
    const alias = fn.addAlias("live");
    deployed.set(spec.name, { fn, alias, spec });

    route(api, spec, alias);
    if (spec.consumesQueue) {
      alias.addEventSource(
        new SqsEventSource(queue, {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
          // At most this many concurrent processors, so a burst on the queue cannot take the
          // account's concurrency from the API.
          maxConcurrency: 10,
        }),
      );
    }
    if (spec.schedule) {
      new events.Rule(stack, `${spec.name}Function${spec.schedule.name}`, {
        schedule: events.Schedule.expression(spec.schedule.expression),
        targets: [new targets.LambdaFunction(alias, { retryAttempts: 2, deadLetterQueue: failedRuns })],
      });
    }
  }
  return { deployed, common };
}

/** The function of a spec, with its own log group (template.yaml's <name>Logs, 30 days). */
export function rustFunction(
  stack: Stack,
  spec: FunctionSpec,
  logLevel: string,
  environment: Record<string, string>,
  deadLetterQueue?: sqs.IQueue,
) {
  const logGroup = new logs.LogGroup(stack, `${spec.name}Logs`, {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const fn = new RustFunction(stack, `${spec.name}Function`, {
    manifestPath: MANIFEST,
    binaryName: spec.binary,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize ?? 256,
    timeout: Duration.seconds(spec.timeoutSeconds ?? 10),
    reservedConcurrentExecutions: spec.reservedConcurrency,
    tracing: lambda.Tracing.ACTIVE,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: logLevel as lambda.ApplicationLogLevel,
    logGroup,
    environment,
    deadLetterQueue,
  });
  // checkov asks every function for a dead-letter queue; only the scheduled ones are invoked
  // asynchronously with events to park (template.yaml says the same on each function).
  if (!deadLetterQueue) skip(fn, "CKV_AWS_116", notParked(spec));
  // The binary it runs, said as template.yaml says it (SAM's build metadata), so the parity check
  // holds the two to the same binary per function.
  (fn.node.defaultChild as CfnResource).addMetadata("BuildProperties", { Binary: spec.binary });
  return fn;
}

const notParked = (spec: FunctionSpec) =>
  spec.route
    ? "invoked synchronously by API Gateway; the caller gets the error, no event is left to park"
    : spec.consumesQueue
      ? "invoked by its SQS event source; a message that keeps failing goes to the queue's own dead-letter queue"
      : "CodeDeploy's hook; a failed run fails the release, no event is left to park";

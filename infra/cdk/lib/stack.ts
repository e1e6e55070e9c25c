// The stack of template.yaml, resource for resource, in CDK. Construct ids are the template's
// logical ids, so a resource is easy to find in both and the parity check (tests/template) can pair them up.
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
  Token,
} from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { RustFunction } from "cargo-lambda-cdk";
import { Construct } from "constructs";
import * as path from "path";
import { FunctionSpec, functionSpecs } from "./functions";

/** The workspace's manifest: cargo-lambda builds each function's binary from it. */
const MANIFEST = path.join(__dirname, "..", "..", "..", "..", "Cargo.toml");

const metric =
  (statistic: string) =>
  (namespace: string, metricName: string, dimensionsMap: Record<string, string>, minutes: number) =>
    new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period: Duration.minutes(minutes) });
const sum = metric("Sum");
const maximum = metric("Maximum");

/** An inline checkov suppression on a construct's resource, with the reason it does not apply. */
const skip = (construct: Construct, id: string, comment: string) =>
  (construct.node.defaultChild as CfnResource).addMetadata("checkov", { skip: [{ id, comment }] });
const notParked = (spec: FunctionSpec) =>
  spec.route
    ? "invoked synchronously by API Gateway; the caller gets the error, no event is left to park"
    : spec.consumesQueue
      ? "invoked by its SQS event source; a message that keeps failing goes to the queue's own dead-letter queue"
      : "CodeDeploy's hook; a failed run fails the release, no event is left to park";

export class PlatformStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const p = this.parameters();

    // Data: one table for every entity (docs/data-model.md), the order queue, the exports bucket.
    const table = new dynamodb.Table(this, "OrdersTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (table.node.defaultChild as dynamodb.CfnTable).deletionProtectionEnabled = Token.asAny(p.tableDeletionProtection);
    const indexes: [string, dynamodb.ProjectionType][] = [
      ["gsi1", dynamodb.ProjectionType.ALL],
      ["gsi2", dynamodb.ProjectionType.ALL],
      ["gsi3", dynamodb.ProjectionType.KEYS_ONLY],
      ["gsi4", dynamodb.ProjectionType.KEYS_ONLY],
    ];
    for (const [indexName, projectionType] of indexes) {
      table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: `${indexName}pk`, type: dynamodb.AttributeType.STRING },
        sortKey: { name: `${indexName}sk`, type: dynamodb.AttributeType.STRING },
        projectionType,
      });
    }

    const deadLetters = new sqs.Queue(this, "OrderDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const queue = new sqs.Queue(this, "OrderQueue", {
      visibilityTimeout: Duration.seconds(180),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
    });
    // Scheduled runs that failed after their retries, and schedule events that could not be
    // delivered (template.yaml's FailedRunsQueue; each rule target below allows its rule to send).
    const failedRuns = new sqs.Queue(this, "FailedRunsQueue", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const bucket = new s3.Bucket(this, "ExportsBucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // A report overwritten or deleted by mistake (or by a rerun) can be brought back for 30 days.
      versioned: true,
      // As the SST stack's `cors: true`: any origin may read exports it is given a URL for.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: ["*"],
          allowedHeaders: ["*"],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        {
          id: "expire-old-exports",
          prefix: "reports/",
          transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
          expiration: Duration.days(400),
        },
        { id: "abort-stale-multipart-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: "expire-replaced-versions", noncurrentVersionExpiration: Duration.days(30), expiredObjectDeleteMarker: true },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    skip(
      bucket,
      "CKV_AWS_18",
      "server access logs would need a bucket of their own and record only the daily report's writes; CloudTrail data events are where object access is recorded if an audit asks for it",
    );

    // Secrets: the list cursor's HMAC key; the provider's API key (and a restricted read-only one
    // for the report) and webhook signing key, created
    // with random placeholders to be replaced after the first deploy (docs/payments.md).
    const secret = (id: string, description: string, passwordLength: number) =>
      new secretsmanager.Secret(this, id, {
        description,
        generateSecretString: { passwordLength, excludePunctuation: true },
      });
    const cursorSecret = secret("CursorSecret", "HMAC key for the orders list cursor", 48);
    const providerKeySecret = secret(
      "PaymentProviderKeySecret",
      "Secret API key of the payment provider (replace the placeholder)",
      32,
    );
    const providerReadKeySecret = secret(
      "PaymentProviderReadKeySecret",
      "Restricted read-only API key of the payment provider, for the daily report (replace the placeholder)",
      32,
    );
    const webhookSecret = secret(
      "PaymentWebhookSecret",
      "Signing secret of the payment provider's webhook endpoint (replace the placeholder)",
      32,
    );

    const api = this.httpApi(p.jwtIssuer, p.jwtAudience);

    // Functions, each invoked through its alias `live`.
    const specs = functionSpecs({
      table,
      queue,
      bucket,
      cursorSecret,
      providerKeySecret,
      providerReadKeySecret,
      webhookSecret,
      providerUrl: p.paymentProviderUrl,
      deniedSkus: p.deniedSkus,
      maxOrderTotal: p.maxOrderTotal,
    });
    const common = { ORDERS_TABLE: table.tableName, ORDER_QUEUE_URL: queue.queueUrl };
    const deployed = new Map<string, { fn: lambda.Function; alias: lambda.Alias; spec: FunctionSpec }>();
    for (const spec of specs) {
      const fn = this.rustFunction(spec, p.logLevel, { ...common, ...spec.environment }, spec.schedule ? failedRuns : undefined);
      for (const statement of spec.statements) fn.addToRolePolicy(statement);
      if (spec.sendsToQueue) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage*"], resources: [queue.queueArn] }));
      }
      const alias = fn.addAlias("live");
      deployed.set(spec.name, { fn, alias, spec });

      if (spec.route) {
        api.addRoutes({
          path: spec.route.path,
          methods: [spec.route.method],
          integration: new HttpLambdaIntegration(`${spec.name}Integration`, alias),
          ...(spec.route.unauthenticated ? { authorizer: new apigw.HttpNoneAuthorizer() } : {}),
        });
      }
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
        new events.Rule(this, `${spec.name}Function${spec.schedule.name}`, {
          schedule: events.Schedule.expression(spec.schedule.expression),
          targets: [new targets.LambdaFunction(alias, { retryAttempts: 2, deadLetterQueue: failedRuns })],
        });
      }
    }

    // Releases: CodeDeploy shifts each alias. The release check probes every API function's new
    // version before any traffic moves; its name's prefix is what CodeDeploy may invoke.
    const releaseCheck = this.releaseCheck(p.logLevel, common, deployed);
    const application = new codedeploy.LambdaApplication(this, "ServerlessDeploymentApplication");
    // One service role for every deployment group, as SAM has. Each group with the hook lets the
    // hook report to that group (CDK grants it), where template.yaml grants it every group at once.
    const codeDeployRole = new iam.Role(this, "CodeDeployServiceRole", {
      assumedBy: new iam.ServicePrincipal("codedeploy.amazonaws.com"),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSCodeDeployRoleForLambdaLimited")],
    });

    // Alarms, and where they go.
    const topic = this.alarmTopic(p.alarmEmail);
    const notify = (alarm: cloudwatch.Alarm, ok = false) => {
      alarm.addAlarmAction(new SnsAction(topic));
      if (ok) alarm.addOkAction(new SnsAction(topic));
      return alarm;
    };
    const fnOf = (name: string) => deployed.get(name)!.fn;

    // Named, and named (not referenced) by the API functions' deployment groups: the alarm refers
    // to the API, the API to each alias, each alias's UpdatePolicy to its deployment group, so a
    // reference back would close a dependency cycle (as template.yaml says).
    const api5xxName = Fn.sub("${AWS::StackName}-api-5xx");
    notify(
      this.alarm("Api5xxAlarm", "The API answers 5xx; during a release CodeDeploy rolls the release back.", {
        metric: sum("AWS/ApiGateway", "5xx", { ApiId: api.apiId, Stage: "$default" }, 1),
        alarmName: api5xxName,
      }),
    );
    const api5xx = cloudwatch.Alarm.fromAlarmName(this, "Api5xxAlarmByName", api5xxName);
    const strategy = codedeploy.LambdaDeploymentConfig.fromLambdaDeploymentConfigName(
      this,
      "DeploymentStrategyConfig",
      Fn.sub("CodeDeployDefault.Lambda${Strategy}", { Strategy: p.deploymentStrategy }),
    );
    for (const { fn, alias, spec } of deployed.values()) {
      const shifted = spec.release === "shifted";
      const alarms = shifted ? [notify(this.newVersionAlarm(spec.name, fn)), ...(spec.route ? [api5xx] : [])] : [];
      new codedeploy.LambdaDeploymentGroup(this, `${spec.name}FunctionDeploymentGroup`, {
        application,
        alias,
        role: codeDeployRole,
        deploymentConfig: shifted ? strategy : codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
        alarms,
        preHook: shifted && spec.route ? releaseCheck : undefined,
        autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: alarms.length > 0 },
      });
    }

    // p99 latency of each route, as the client sees it.
    for (const { spec } of deployed.values()) {
      if (!spec.route) continue;
      const { method, path, p99Ms = 1000 } = spec.route;
      notify(
        this.alarm(`${spec.name}LatencyAlarm`, `p99 latency of ${method} ${path} over ${p99Ms} ms for 5 minutes.`, {
          metric: metric("p99")("AWS/ApiGateway", "Latency", { ApiId: api.apiId, Stage: "$default", Method: method, Resource: path }, 1),
          threshold: p99Ms,
          evaluationPeriods: 5,
        }),
        true,
      );
    }

    const errorsOf = (name: string, minutes: number) =>
      sum("AWS/Lambda", "Errors", { FunctionName: fnOf(name).functionName }, minutes);
    const business = (metricName: string, name: string, minutes: number) =>
      maximum("OrdersPlatform", metricName, { FunctionName: fnOf(name).functionName }, minutes);

    notify(
      this.alarm("DeadLetterAlarm", "Order events are parked in the dead-letter queue; inspect and redrive them.", {
        metric: maximum("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: deadLetters.queueName }, 5),
      }),
      true,
    );
    notify(
      this.alarm(
        "FailedRunsAlarm",
        "A scheduled run failed after its retries, or its schedule could not invoke it; read the message in the failed-runs queue and rerun.",
        { metric: maximum("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: failedRuns.queueName }, 5) },
      ),
      true,
    );
    notify(
      this.alarm(
        "OrderQueueAgeAlarm",
        "The oldest order event has waited over 5 minutes in the queue; the processor is failing, throttled or behind.",
        {
          metric: maximum("AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: queue.queueName }, 1),
          threshold: 300,
          evaluationPeriods: 5,
        },
      ),
      true,
    );
    notify(
      this.alarm("TableThrottledAlarm", "The orders table throttled requests; look for a hot partition key or a sudden surge.", {
        metric: new cloudwatch.MathExpression({
          expression: "reads + writes",
          label: "throttled requests",
          period: Duration.minutes(5),
          usingMetrics: {
            reads: sum("AWS/DynamoDB", "ReadThrottleEvents", { TableName: table.tableName }, 5),
            writes: sum("AWS/DynamoDB", "WriteThrottleEvents", { TableName: table.tableName }, 5),
          },
        }),
      }),
      true,
    );
    notify(
      this.alarm(
        "Api5xxRateAlarm",
        "More than 1% of API requests failed with a 5xx over 5 minutes (any 5xx is a bug).",
        {
          metric: new cloudwatch.MathExpression({
            expression: "IF(requests > 0, 100 * errors / requests, 0)",
            label: "5xx percent",
            period: Duration.minutes(5),
            usingMetrics: {
              errors: sum("AWS/ApiGateway", "5xx", { ApiId: api.apiId }, 5),
              requests: sum("AWS/ApiGateway", "Count", { ApiId: api.apiId }, 5),
            },
          }),
          threshold: 1,
        },
      ),
      true,
    );
    notify(
      this.alarm(
        "ProcessorErrorsAlarm",
        "The order processor failed invocations (not single messages, which retry and park).",
        { metric: errorsOf("OrderProcessor", 5) },
      ),
    );
    notify(
      this.alarm(
        "OutboxRelayErrorsAlarm",
        "The outbox relay keeps failing; undelivered events wait in order outboxes.",
        { metric: errorsOf("OutboxRelay", 5), evaluationPeriods: 3 },
      ),
    );
    notify(
      this.alarm(
        "RefundsFailedAlarm",
        "The provider failed a refund; the amount is refundable again. Tell the customer, or refund another way.",
        {
          metric: new cloudwatch.MathExpression({
            expression: "route + webhook + reconciler",
            label: "refunds failed",
            period: Duration.minutes(5),
            usingMetrics: {
              route: sum("OrdersPlatform", "RefundsFailed", { FunctionName: fnOf("PaymentsRefund").functionName }, 5),
              webhook: sum("OrdersPlatform", "RefundsFailed", { FunctionName: fnOf("PaymentWebhook").functionName }, 5),
              reconciler: sum(
                "OrdersPlatform",
                "RefundsFailed",
                { FunctionName: fnOf("PaymentReconciler").functionName },
                5,
              ),
            },
          }),
        },
      ),
    );
    notify(
      this.alarm(
        "PendingMoneyStuckAlarm",
        "A payment or refund is still PENDING after every reconciliation attempt; settle it by hand (docs/payments.md).",
        { metric: business("PendingMoneyStuck", "PaymentReconciler", 5) },
      ),
    );
    notify(
      this.alarm(
        "LedgerUnbalancedAlarm",
        "The daily report found the ledger and the provider's books apart by more than what was pending; see its summary.json (docs/operations.md).",
        { metric: business("LedgerUnbalanced", "DailyReport", 60) },
      ),
    );
    notify(
      this.alarm(
        "PaymentReconcilerErrorsAlarm",
        "The payment reconciler keeps failing; pending payments and refunds wait (nothing is lost).",
        { metric: errorsOf("PaymentReconciler", 5), evaluationPeriods: 3 },
      ),
    );
    notify(
      this.alarm(
        "PendingOrdersAlarm",
        "An order has waited more than 5 minutes for a decision and the sweeper could not decide it.",
        { metric: business("OldestPendingOrderAge", "OutboxRelay", 5), threshold: 300 },
      ),
    );
    notify(
      this.alarm(
        "ReportFailureAlarm",
        'The daily report failed after its retries; rerun it with {"date":"YYYY-MM-DD"}.',
        { metric: errorsOf("DailyReport", 60) },
      ),
    );

    new CfnOutput(this, "ApiEndpoint", { description: "Base URL of the HTTP API", value: api.apiEndpoint });
    new CfnOutput(this, "OrdersTableName", { value: table.tableName });
    new CfnOutput(this, "OrderQueueUrl", { value: queue.queueUrl });
    new CfnOutput(this, "ExportsBucketName", { value: bucket.bucketName });
    new CfnOutput(this, "AlarmTopicArn", { value: topic.topicArn });
    new CfnOutput(this, "PaymentWebhookUrl", {
      description: "Register this endpoint with the payment provider",
      value: `${api.apiEndpoint}/webhooks/payment-provider`,
    });
  }

  /** The template's parameters, with the same names, so both deploy with the same overrides. */
  private parameters() {
    const string = (id: string, props: Omit<ConstructorParameters<typeof CfnParameter>[2], "type"> = {}) =>
      new CfnParameter(this, id, { type: "String", ...props }).valueAsString;
    return {
      jwtIssuer: string("JwtIssuer", {
        description:
          "Issuer (iss) of the JWTs the HTTP API accepts, e.g. https://cognito-idp.us-east-1.amazonaws.com/<pool-id>",
      }),
      jwtAudience: new CfnParameter(this, "JwtAudience", {
        type: "CommaDelimitedList",
        description: "Accepted audiences (aud) of those JWTs.",
      }).valueAsList,
      tableDeletionProtection: string("TableDeletionProtection", {
        allowedValues: ["true", "false"],
        default: "true",
        description: "Protect the orders table from deletion.",
      }),
      deniedSkus: string("DeniedSkus", {
        default: "",
        description: "Comma-separated SKUs the order processor rejects.",
      }),
      maxOrderTotal: string("MaxOrderTotal", {
        default: "",
        allowedPattern: "^[0-9]*$",
        description: "Largest order total (minor units) accepted without review; empty for no limit.",
      }),
      alarmEmail: string("AlarmEmail", {
        default: "",
        description: "Where alarms are emailed; empty for none (subscribe to the AlarmTopic output instead).",
      }),
      paymentProviderUrl: string("PaymentProviderUrl", {
        default: "https://api.stripe.com",
        description: "Base URL of the payment provider's API (Stripe-style).",
      }),
      logLevel: string("LogLevel", { allowedValues: ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], default: "INFO" }),
      deploymentStrategy: string("DeploymentStrategy", {
        allowedValues: [
          "Canary10Percent5Minutes",
          "Canary10Percent10Minutes",
          "Linear10PercentEvery1Minute",
          "AllAtOnce",
        ],
        default: "Canary10Percent5Minutes",
        description:
          "How a release of the API functions and the queue consumer shifts traffic (AllAtOnce for a development stack); the pre-traffic check and the rollback alarms apply to every strategy.",
      }),
    };
  }

  private httpApi(issuer: string, audience: string[]) {
    const api = new apigw.HttpApi(this, "HttpApi", {
      createDefaultStage: false,
      defaultAuthorizer: new HttpJwtAuthorizer("Jwt", issuer, {
        jwtAudience: audience,
        identitySource: ["$request.header.Authorization"],
      }),
    });
    const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigw.HttpStage(this, "HttpApiApiGatewayDefaultStage", {
      httpApi: api,
      stageName: "$default",
      autoDeploy: true,
      throttle: { burstLimit: 200, rateLimit: 100 },
      // Per-route metrics (by method and path), for the routes' latency alarms.
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error"}',
        ),
      },
    });
    return api;
  }

  private rustFunction(spec: FunctionSpec, logLevel: string, environment: Record<string, string>, deadLetterQueue?: sqs.IQueue) {
    // Its own log group, kept 30 days and deleted with the stack (template.yaml's <name>Logs).
    const logGroup = new logs.LogGroup(this, `${spec.name}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const fn = new RustFunction(this, `${spec.name}Function`, {
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

  /** CodeDeploy's pre-traffic hook: template.yaml's ReleaseCheckFunction. */
  private releaseCheck(
    logLevel: string,
    common: Record<string, string>,
    deployed: Map<string, { fn: lambda.Function; spec: FunctionSpec }>,
  ) {
    const probed = [...deployed.values()].filter(({ spec }) => spec.route);
    const versions: Record<string, string> = {};
    for (const { fn, spec } of probed) {
      versions[`${spec.binary.toUpperCase().replace(/-/g, "_")}_VERSION`] = fn.currentVersion.functionArn;
    }
    const spec: FunctionSpec = { name: "ReleaseCheck", binary: "release-check", timeoutSeconds: 60, release: "none", statements: [] };
    const hook = this.rustFunction(spec, logLevel, { ...common, ...versions });
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

  /**
   * The topic alarms go to. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS
   * key (its policy cannot be changed to let CloudWatch use it), so it has a key of its own.
   */
  private alarmTopic(email: string) {
    const key = new kms.Key(this, "AlarmTopicKey", {
      description: "Encrypts the alarm topic; CloudWatch alarms may use it to publish",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchPublishes",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
      }),
    );
    const topic = new sns.Topic(this, "AlarmTopic", { masterKey: key });
    const emailAlarms = new CfnCondition(this, "EmailAlarms", {
      expression: Fn.conditionNot(Fn.conditionEquals(email, "")),
    });
    const subscription = new sns.CfnSubscription(this, "AlarmEmailSubscription", {
      topicArn: topic.topicArn,
      protocol: "email",
      endpoint: email,
    });
    subscription.cfnOptions.condition = emailAlarms;
    return topic;
  }

  /** An alarm on any value above the threshold (0 unless given), missing data being fine. */
  private alarm(
    id: string,
    description: string,
    props: { metric: cloudwatch.IMetric; threshold?: number; evaluationPeriods?: number; alarmName?: string },
  ) {
    return new cloudwatch.Alarm(this, id, {
      alarmName: props.alarmName,
      alarmDescription: description,
      metric: props.metric,
      threshold: props.threshold ?? 0,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Errors of the version being released, or throttles of the alias: CodeDeploy rolls back on it. */
  private newVersionAlarm(name: string, fn: lambda.Function) {
    const live = `${fn.functionName}:live`;
    const minute = (metricName: string, dimensionsMap: Record<string, string>) =>
      sum("AWS/Lambda", metricName, dimensionsMap, 1);
    return this.alarm(
      `${name}NewVersionAlarm`,
      `The version of ${name} being released fails or is throttled; CodeDeploy rolls the release back.`,
      {
        metric: new cloudwatch.MathExpression({
          expression: "errors + throttles",
          label: "errors and throttles",
          period: Duration.minutes(1),
          usingMetrics: {
            errors: minute("Errors", {
              FunctionName: fn.functionName,
              Resource: live,
              ExecutedVersion: fn.currentVersion.version,
            }),
            throttles: minute("Throttles", { FunctionName: fn.functionName, Resource: live }),
          },
        }),
      },
    );
  }
}

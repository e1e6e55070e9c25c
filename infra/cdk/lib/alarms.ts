// Alarms and where they go: the topic (with its key), and every operational alarm of the stack
// (template.yaml's); the release's rollback alarms are releases.ts's.
import { CfnCondition, Duration, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import { Data } from "./data";
import { Deployed } from "./lambdas";

export const metric =
  (statistic: string) =>
  (namespace: string, metricName: string, dimensionsMap: Record<string, string>, minutes: number) =>
    new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period: Duration.minutes(minutes) });
export const sum = metric("Sum");
export const maximum = metric("Maximum");

export class Alarms {
  readonly topic: sns.Topic;

  constructor(
    private readonly stack: Stack,
    email: string,
  ) {
    this.topic = alarmTopic(stack, email);
  }

  /** An alarm on any value above the threshold (0 unless given), missing data being fine. */
  alarm(
    id: string,
    description: string,
    props: { metric: cloudwatch.IMetric; threshold?: number; evaluationPeriods?: number; alarmName?: string },
  ) {
    return new cloudwatch.Alarm(this.stack, id, {
      alarmName: props.alarmName,
      alarmDescription: description,
      metric: props.metric,
      threshold: props.threshold ?? 0,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Tells the topic when the alarm fires, and with `ok` when it clears. */
  readonly notify = (alarm: cloudwatch.Alarm, ok = false) => {
    alarm.addAlarmAction(new SnsAction(this.topic));
    if (ok) alarm.addOkAction(new SnsAction(this.topic));
    return alarm;
  };
}

/** Every operational alarm: queues, table, each route's latency, the API's 5xx rate, the functions. */
export function operationalAlarms(alarms: Alarms, data: Data, api: apigw.HttpApi, deployed: Map<string, Deployed>) {
  const { notify } = alarms;
  const { table, queue, deadLetters, failedRuns } = data;
  const fnOf = (name: string) => deployed.get(name)!.fn;
  // p99 latency of each route, as the client sees it.
  for (const { spec } of deployed.values()) {
    if (!spec.route) continue;
    const { method, path, p99Ms = 1000 } = spec.route;
    notify(
      alarms.alarm(`${spec.name}LatencyAlarm`, `p99 latency of ${method} ${path} over ${p99Ms} ms for 5 minutes.`, {
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
    alarms.alarm("DeadLetterAlarm", "Order events are parked in the dead-letter queue; inspect and redrive them.", {
      metric: maximum("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: deadLetters.queueName }, 5),
    }),
    true,
  );
  notify(
    alarms.alarm(
      "FailedRunsAlarm",
      "A scheduled run failed after its retries, or its schedule could not invoke it; read the message in the failed-runs queue and rerun.",
      { metric: maximum("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: failedRuns.queueName }, 5) },
    ),
    true,
  );
  notify(
    alarms.alarm(
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
    alarms.alarm("TableThrottledAlarm", "The orders table throttled requests; look for a hot partition key or a sudden surge.", {
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
    alarms.alarm(
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
    alarms.alarm(
      "ProcessorErrorsAlarm",
      "The order processor failed invocations (not single messages, which retry and park).",
      { metric: errorsOf("OrderProcessor", 5) },
    ),
  );
  notify(
    alarms.alarm(
      "OutboxRelayErrorsAlarm",
      "The outbox relay keeps failing; undelivered events wait in order outboxes.",
      { metric: errorsOf("OutboxRelay", 5), evaluationPeriods: 3 },
    ),
  );
  notify(
    alarms.alarm(
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
    alarms.alarm(
      "PendingMoneyStuckAlarm",
      "A payment or refund is still PENDING a day after it began, unknown to the provider or the provider unreachable; see docs/payments.md before moving any money.",
      { metric: business("PendingMoneyStuck", "PaymentReconciler", 5) },
    ),
  );
  // Any function that calls the provider counts a 401/403 (a key never put in its secret after the
  // first deploy, or revoked): until a person fixes the key, every payment and refund fails.
  const rejected = (name: string) => maximum("OrdersPlatform", "ProviderKeyRejected", { FunctionName: fnOf(name).functionName }, 1);
  notify(
    alarms.alarm("ProviderKeyRejectedAlarm", "The payment provider refused our API key (401/403); put the right key in its secret (docs/operations.md).", {
      metric: new cloudwatch.MathExpression({
        expression: "MAX([create, refund, reconciler, report])",
        label: "provider key rejected",
        period: Duration.minutes(1),
        usingMetrics: {
          create: rejected("PaymentsCreate"),
          refund: rejected("PaymentsRefund"),
          reconciler: rejected("PaymentReconciler"),
          report: rejected("DailyReport"),
        },
      }),
    }),
    true,
  );
  notify(
    alarms.alarm(
      "LedgerUnbalancedAlarm",
      "The daily report found the ledger and the provider's books apart by more than what was pending; see its summary.json (docs/operations.md).",
      { metric: business("LedgerUnbalanced", "DailyReport", 60) },
    ),
  );
  notify(
    alarms.alarm(
      "ReconciliationPendingAlarm",
      "The daily report could not read the provider's books; the day's files are written and its reconciliation is retried by the next scheduled run (docs/operations.md).",
      { metric: business("ReconciliationPending", "DailyReport", 60) },
    ),
  );
  notify(
    alarms.alarm(
      "PaymentReconcilerErrorsAlarm",
      "The payment reconciler keeps failing; pending payments and refunds wait (nothing is lost).",
      { metric: errorsOf("PaymentReconciler", 5), evaluationPeriods: 3 },
    ),
  );
  notify(
    alarms.alarm(
      "PendingOrdersAlarm",
      "An order has waited more than 5 minutes for a decision and the sweeper could not decide it.",
      { metric: business("OldestPendingOrderAge", "OutboxRelay", 5), threshold: 300 },
    ),
  );
  notify(
    alarms.alarm(
      "ReportFailureAlarm",
      'The daily report failed after its retries; rerun it with {"date":"YYYY-MM-DD"}.',
      { metric: errorsOf("DailyReport", 60) },
    ),
  );
}

/**
 * The topic alarms go to. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS
 * key (its policy cannot be changed to let CloudWatch use it), so it has a key of its own.
 */
function alarmTopic(stack: Stack, email: string) {
  const key = new kms.Key(stack, "AlarmTopicKey", {
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
  const topic = new sns.Topic(stack, "AlarmTopic", { masterKey: key });
  const emailAlarms = new CfnCondition(stack, "EmailAlarms", {
    expression: Fn.conditionNot(Fn.conditionEquals(email, "")),
  });
  const subscription = new sns.CfnSubscription(stack, "AlarmEmailSubscription", {
    topicArn: topic.topicArn,
    protocol: "email",
    endpoint: email,
  });
  subscription.cfnOptions.condition = emailAlarms;
  return topic;
}

// Every function of the stack, one entry each, as template.yaml's Resources list them: what runs
// it (a route, the queue, a schedule), how a release reaches it, and what it may do. The policies
// are the same statements as the template's, so the parity check (tests/template) can compare them action for action.
import { HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";

export interface Route {
  method: HttpMethod;
  path: string;
  /** No JWT authorizer: the payment provider signs its webhooks instead. */
  unauthenticated?: boolean;
  /** The p99 latency past which the route alarms: 1 s, or 3 s where it waits on the provider. */
  p99Ms?: number;
}

/**
 * How a new version reaches traffic: `shifted` by the DeploymentStrategy parameter, with the
 * pre-traffic check and the rollback alarms; `atOnce` (schedules: a canary would see a handful of
 * runs, no signal); `none` (the release check itself).
 */
export type Release = "shifted" | "atOnce" | "none";

export interface FunctionSpec {
  /** The logical id's stem, as in template.yaml (`OrdersCreate` is `OrdersCreateFunction`). */
  name: string;
  /** The cargo binary, as in the template's `BuildProperties.Binary`. */
  binary: string;
  /** MB; sized from measured figures (docs/performance.md, "Memory from figures"), else 256. */
  memorySize?: number;
  timeoutSeconds?: number;
  route?: Route;
  /** The order queue's consumer. */
  consumesQueue?: boolean;
  /** An EventBridge schedule expression. */
  schedule?: { name: string; expression: string };
  release: Release;
  environment?: Record<string, string>;
  statements: iam.PolicyStatement[];
  /** Concurrency reserved (and so capped) for the function. */
  reservedConcurrency?: number;
  /** May send to the order queue (SAM's SQSSendMessagePolicy). */
  sendsToQueue?: boolean;
}

export interface Shared {
  table: dynamodb.Table;
  queue: sqs.Queue;
  bucket: s3.Bucket;
  cursorSecret: secretsmanager.Secret;
  providerKeySecret: secretsmanager.Secret;
  providerReadKeySecret: secretsmanager.Secret;
  webhookSecret: secretsmanager.Secret;
  providerUrl: string;
  deniedSkus: string;
  maxOrderTotal: string;
}

export function functionSpecs(s: Shared): FunctionSpec[] {
  const items = (actions: string[], leadingKeys: string[]) =>
    new iam.PolicyStatement({
      actions: actions.map((a) => `dynamodb:${a}`),
      resources: [s.table.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": leadingKeys } },
    });
  const index = (name: string) =>
    new iam.PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${s.table.tableArn}/index/${name}`] });
  const readSecret = (secret: secretsmanager.Secret) =>
    new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] });
  const provider = {
    PAYMENT_PROVIDER_URL: s.providerUrl,
    PAYMENT_PROVIDER_KEY_SECRET: s.providerKeySecret.secretArn,
  };
  const rules = { DENIED_SKUS: s.deniedSkus, MAX_ORDER_TOTAL: s.maxOrderTotal };
  // Moving money, one statement a key prefix: a payment and its refunds (`PAYMENT#`) with what each
  // function does to them; a ledger entry is written once and never changed or deleted.
  const money = (payment: string[]) => [items(payment, ["PAYMENT#*"]), items(["PutItem"], ["LEDGER#*"])];
  // Idempotency claims: the only items any function deletes (a claim released after a failure).
  const idempotency = () => items(["PutItem", "UpdateItem", "DeleteItem"], ["IDEMPOTENCY#*"]);

  return [
    {
      name: "OrdersCreate",
      binary: "orders-create",
      memorySize: 640,
      route: { method: HttpMethod.POST, path: "/orders" },
      release: "shifted",
      statements: [items(["PutItem", "UpdateItem"], ["ORDER#*"]), idempotency()],
      sendsToQueue: true,
    },
    {
      name: "OrdersGet",
      binary: "orders-get",
      memorySize: 128,
      route: { method: HttpMethod.GET, path: "/orders/{id}" },
      release: "shifted",
      statements: [items(["GetItem"], ["ORDER#*"])],
    },
    {
      name: "OrdersList",
      binary: "orders-list",
      memorySize: 320,
      route: { method: HttpMethod.GET, path: "/orders" },
      release: "shifted",
      environment: { CURSOR_SECRET_ARN: s.cursorSecret.secretArn },
      statements: [index("gsi1"), readSecret(s.cursorSecret)],
    },
    {
      name: "OrdersUpdate",
      binary: "orders-update",
      route: { method: HttpMethod.PUT, path: "/orders/{id}" },
      release: "shifted",
      statements: [items(["UpdateItem"], ["ORDER#*"])],
      sendsToQueue: true,
    },
    {
      name: "OrdersCancel",
      binary: "orders-cancel",
      memorySize: 576,
      route: { method: HttpMethod.DELETE, path: "/orders/{id}" },
      release: "shifted",
      statements: [items(["UpdateItem"], ["ORDER#*"])],
      sendsToQueue: true,
    },
    {
      name: "PaymentsCreate",
      binary: "payments-create",
      memorySize: 384,
      route: { method: HttpMethod.POST, path: "/payments", p99Ms: 3000 },
      release: "shifted",
      environment: provider,
      statements: [
        items(["GetItem", "UpdateItem"], ["ORDER#*"]),
        ...money(["Query", "PutItem", "UpdateItem"]),
        idempotency(),
        readSecret(s.providerKeySecret),
      ],
      sendsToQueue: true,
    },
    {
      name: "PaymentsGet",
      binary: "payments-get",
      memorySize: 128,
      route: { method: HttpMethod.GET, path: "/payments/{id}" },
      release: "shifted",
      statements: [items(["Query"], ["PAYMENT#*"])],
    },
    {
      name: "PaymentsRefund",
      binary: "payments-refund",
      memorySize: 320,
      route: { method: HttpMethod.POST, path: "/payments/{id}/refund", p99Ms: 3000 },
      release: "shifted",
      environment: provider,
      statements: [items(["UpdateItem"], ["ORDER#*"]), ...money(["GetItem", "PutItem", "UpdateItem"]), idempotency(), readSecret(s.providerKeySecret)],
      sendsToQueue: true,
    },
    {
      name: "PaymentWebhook",
      binary: "payment-webhook",
      route: { method: HttpMethod.POST, path: "/webhooks/payment-provider", unauthenticated: true },
      release: "shifted",
      // It only records what the provider says: no provider key.
      environment: { PAYMENT_WEBHOOK_SECRET: s.webhookSecret.secretArn },
      statements: [
        items(["UpdateItem"], ["ORDER#*"]),
        ...money(["GetItem", "Query", "UpdateItem"]),
        readSecret(s.webhookSecret),
      ],
      sendsToQueue: true,
    },
    {
      name: "PaymentReconciler",
      binary: "payment-reconciler",
      // Runs never overlap: two at once would ask the provider about the same money twice.
      reservedConcurrency: 1,
      timeoutSeconds: 60,
      schedule: { name: "EveryMinute", expression: "rate(1 minute)" },
      release: "atOnce",
      environment: provider,
      statements: [
        items(["UpdateItem"], ["ORDER#*"]),
        ...money(["GetItem", "Query", "UpdateItem"]),
        index("gsi3"),
        readSecret(s.providerKeySecret),
      ],
      sendsToQueue: true,
    },
    {
      name: "OrderProcessor",
      binary: "order-processor",
      timeoutSeconds: 30,
      memorySize: 128,
      consumesQueue: true,
      release: "shifted",
      environment: rules,
      statements: [items(["GetItem", "UpdateItem"], ["ORDER#*"])],
    },
    {
      name: "OutboxRelay",
      binary: "outbox-relay",
      memorySize: 128,
      timeoutSeconds: 60,
      schedule: { name: "EveryMinute", expression: "rate(1 minute)" },
      release: "atOnce",
      environment: rules,
      statements: [index("gsi3"), index("gsi4"), items(["GetItem", "UpdateItem"], ["ORDER#*"])],
      sendsToQueue: true,
    },
    {
      // "Shortly after midnight UTC", as the contract asks.
      name: "DailyReport",
      binary: "daily-report",
      timeoutSeconds: 300,
      memorySize: 1024,
      schedule: { name: "Nightly", expression: "cron(5 0 * * ? *)" },
      release: "atOnce",
      // The provider's restricted read-only key: the report lists, and never moves, money.
      environment: {
        EXPORTS_BUCKET: s.bucket.bucketName,
        ...provider,
        PAYMENT_PROVIDER_KEY_SECRET: s.providerReadKeySecret.secretArn,
      },
      statements: [
        index("gsi2"),
        // The ledger's day partitions, on the table itself.
        items(["Query"], ["LEDGER#*"]),
        new iam.PolicyStatement({
          actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
          resources: [s.bucket.arnForObjects("reports/*")],
        }),
        // The days whose reconciliation is pending: listed and unmarked by later runs.
        new iam.PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [s.bucket.bucketArn],
          conditions: { StringEquals: { "s3:prefix": ["reports/reconciliation-pending/"] } },
        }),
        new iam.PolicyStatement({
          actions: ["s3:DeleteObject"],
          resources: [s.bucket.arnForObjects("reports/reconciliation-pending/*")],
        }),
        readSecret(s.providerReadKeySecret),
      ],
    },
  ];
}

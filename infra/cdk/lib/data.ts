// Data: one table for every entity (docs/data-model.md), the order queue and its dead letters, the
// failed scheduled runs, the exports bucket, and the secrets.
import { Duration, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { skip } from "./checkov";

export type Data = ReturnType<typeof data>;

export function data(stack: Stack, tableDeletionProtection: string) {
  const table = new dynamodb.Table(stack, "OrdersTable", {
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: "expiresAt",
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  (table.node.defaultChild as dynamodb.CfnTable).deletionProtectionEnabled = Token.asAny(tableDeletionProtection);
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

  const deadLetters = new sqs.Queue(stack, "OrderDeadLetterQueue", {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
  });
  const queue = new sqs.Queue(stack, "OrderQueue", {
    visibilityTimeout: Duration.seconds(180),
    retentionPeriod: Duration.days(4),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
  });
  // Scheduled runs that failed after their retries, and schedule events that could not be
  // delivered (template.yaml's FailedRunsQueue; each schedule's rule target allows its rule to send).
  const failedRuns = new sqs.Queue(stack, "FailedRunsQueue", {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
  });
  const bucket = new s3.Bucket(stack, "ExportsBucket", {
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
    new secretsmanager.Secret(stack, id, {
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

  return { table, deadLetters, queue, failedRuns, bucket, cursorSecret, providerKeySecret, providerReadKeySecret, webhookSecret };
}

// The stack of template.yaml, resource for resource, in CDK. Construct ids are the template's
// logical ids, so a resource is easy to find in both and the parity check (tests/template) can
// pair them up. Each concern has its file: parameters, data, the API, the functions (specs in
// functions.ts, deployed by lambdas.ts), Managed Instances, traces, releases and alarms.
import { Aspects, CfnOutput, Stack, StackProps } from "aws-cdk-lib";
import { Construct } from "constructs";
import { Alarms, operationalAlarms } from "./alarms";
import { httpApi } from "./api";
import { data } from "./data";
import { functionSpecs } from "./functions";
import { deploy } from "./lambdas";
import { managedInstances } from "./managed-instances";
import { parameters } from "./parameters";
import { releases } from "./releases";
import { traces } from "./traces";

export class PlatformStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const p = parameters(this);
    const d = data(this, p.tableDeletionProtection);
    const api = httpApi(this, p.jwtIssuer, p.jwtAudience);

    // Functions, each invoked through its alias `live`.
    const specs = functionSpecs({
      table: d.table,
      queue: d.queue,
      bucket: d.bucket,
      cursorSecret: d.cursorSecret,
      providerKeySecret: d.providerKeySecret,
      providerReadKeySecret: d.providerReadKeySecret,
      webhookSecret: d.webhookSecret,
      providerUrl: p.paymentProviderUrl,
      deniedSkus: p.deniedSkus,
      maxOrderTotal: p.maxOrderTotal,
    });
    const { deployed, common } = deploy(this, specs, d, api, p.logLevel);
    managedInstances(this, deployed.values());
    Aspects.of(this).add(traces(this));

    const alarms = new Alarms(this, p.alarmEmail);
    releases(this, deployed, { alarms, api, common, logLevel: p.logLevel, deploymentStrategy: p.deploymentStrategy });
    operationalAlarms(alarms, d, api, deployed);

    new CfnOutput(this, "ApiEndpoint", { description: "Base URL of the HTTP API", value: api.apiEndpoint });
    new CfnOutput(this, "OrdersTableName", { value: d.table.tableName });
    new CfnOutput(this, "OrderQueueUrl", { value: d.queue.queueUrl });
    new CfnOutput(this, "ExportsBucketName", { value: d.bucket.bucketName });
    new CfnOutput(this, "AlarmTopicArn", { value: alarms.topic.topicArn });
    new CfnOutput(this, "PaymentWebhookUrl", {
      description: "Register this endpoint with the payment provider",
      value: `${api.apiEndpoint}/webhooks/payment-provider`,
    });
  }
}

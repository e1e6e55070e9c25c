// The CDK app: the same stack as template.yaml (tests/template/test_cdk_parity.py checks the two agree, fact by fact).
import { App } from "aws-cdk-lib";
import { PlatformStack } from "../lib/stack";

// NO_BUNDLING=1 synthesizes without building the functions (the parity test does, offline and in
// seconds); otherwise each function is built by cargo-lambda from the workspace.
const app = new App();
if (process.env.NO_BUNDLING === "1") app.node.setContext("aws:cdk:bundling-stacks", []);
new PlatformStack(app, "OrdersPlatform", {
  description:
    "Orders and payments platform: one Rust Lambda per job over a single DynamoDB table, " +
    "an SQS order queue and an S3 exports bucket. Mirrors the SST stack it replaces.",
  analyticsReporting: false,
});

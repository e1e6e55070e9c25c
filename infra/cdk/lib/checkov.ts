// Inline checkov suppressions (scripts/scan), each with the reason the check does not apply.
import { CfnResource } from "aws-cdk-lib";
import { Construct } from "constructs";

/** Skips a checkov check on a construct's resource, with the reason it does not apply. */
export const skip = (construct: Construct, id: string, comment: string) =>
  (construct.node.defaultChild as CfnResource).addMetadata("checkov", { skip: [{ id, comment }] });

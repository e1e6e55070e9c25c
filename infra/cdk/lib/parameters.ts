// The template's parameters, with the same names, so both deploy with the same overrides.
import { CfnParameter, Stack } from "aws-cdk-lib";

export type Parameters = ReturnType<typeof parameters>;

export function parameters(stack: Stack) {
  const string = (id: string, props: Omit<ConstructorParameters<typeof CfnParameter>[2], "type"> = {}) =>
    new CfnParameter(stack, id, { type: "String", ...props }).valueAsString;
  return {
    jwtIssuer: string("JwtIssuer", {
      description:
        "Issuer (iss) of the JWTs the HTTP API accepts, e.g. https://cognito-idp.us-east-1.amazonaws.com/<pool-id>",
    }),
    jwtAudience: new CfnParameter(stack, "JwtAudience", {
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
      allowedValues: ["Canary10Percent5Minutes", "Canary10Percent10Minutes", "Linear10PercentEvery1Minute", "AllAtOnce"],
      default: "Canary10Percent5Minutes",
      description:
        "How a release of the API functions and the queue consumer shifts traffic (AllAtOnce for a development stack); the pre-traffic check and the rollback alarms apply to every strategy.",
    }),
  };
}

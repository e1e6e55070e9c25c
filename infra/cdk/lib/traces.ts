// OpenTelemetry traces, as template.yaml's Globals give them (docs/operations.md, "Traces"): with
// the ADOT collector layer named by TracesCollectorLayer, every function of ours runs it beside
// itself and sends its spans there over OTLP before each answer; the collector exports them to
// X-Ray with the function's role (tracing ACTIVE grants xray:PutTraceSegments). Without the layer
// nothing of it is deployed and the functions record no spans.
import { Aws, CfnCondition, CfnParameter, Fn, IAspect, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { IConstruct } from "constructs";

/** Where the collector layer listens for OTLP/HTTP, inside the execution environment. */
const COLLECTOR = "http://localhost:4318";

export function traces(stack: Stack): IAspect {
  const layer = new CfnParameter(stack, "TracesCollectorLayer", {
    type: "String",
    default: "",
    description:
      'ARN of the ADOT collector Lambda layer for arm64 in this region (aws-otel-collector-arm64-ver-...); empty for no OpenTelemetry traces. With it, each function sends its spans to the collector beside it, which exports them to X-Ray (docs/operations.md, "Traces").',
  });
  const ratio = new CfnParameter(stack, "TracesSampleRatio", {
    type: "String",
    default: "1",
    allowedPattern: "^(0(\\.[0-9]+)?|1(\\.0+)?)$",
    description:
      "Share of the traces begun here that are kept, from 0 to 1; a trace begun by a caller keeps the caller's decision.",
  });
  const on = new CfnCondition(stack, "TracesOn", {
    expression: Fn.conditionNot(Fn.conditionEquals(layer.valueAsString, "")),
  });
  const variables = {
    OTEL_EXPORTER_OTLP_ENDPOINT: Fn.conditionIf(on.logicalId, COLLECTOR, Aws.NO_VALUE),
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: ratio.valueAsString,
  };
  return {
    // Ours only (a function built from the workspace names its binary), as SAM's Globals reach
    // only the template's own functions.
    visit(node: IConstruct) {
      if (!(node instanceof lambda.CfnFunction) || !node.cfnOptions.metadata?.BuildProperties) return;
      node.addPropertyOverride("Layers", [Fn.conditionIf(on.logicalId, layer.valueAsString, Aws.NO_VALUE)]);
      for (const [name, value] of Object.entries(variables)) {
        node.addPropertyOverride(`Environment.Variables.${name}`, value);
      }
    },
  };
}

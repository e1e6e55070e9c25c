// The HTTP API: the JWT authorizer by default, its one stage with throttling, per-route metrics and
// access logs, and a route per API function, to the function's alias.
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { FunctionSpec } from "./functions";

export function httpApi(stack: Stack, issuer: string, audience: string[]) {
  const api = new apigw.HttpApi(stack, "HttpApi", {
    createDefaultStage: false,
    defaultAuthorizer: new HttpJwtAuthorizer("Jwt", issuer, {
      jwtAudience: audience,
      identitySource: ["$request.header.Authorization"],
    }),
  });
  const accessLogs = new logs.LogGroup(stack, "ApiAccessLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  new apigw.HttpStage(stack, "HttpApiApiGatewayDefaultStage", {
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

/** The function's route, if it has one, to its alias. */
export function route(api: apigw.HttpApi, spec: FunctionSpec, alias: lambda.Alias) {
  if (!spec.route) return;
  api.addRoutes({
    path: spec.route.path,
    methods: [spec.route.method],
    integration: new HttpLambdaIntegration(`${spec.name}Integration`, alias),
    ...(spec.route.unauthenticated ? { authorizer: new apigw.HttpNoneAuthorizer() } : {}),
  });
}

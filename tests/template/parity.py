"""The facts a deployment of the stack depends on, read from a CloudFormation template, so the SAM
template (expanded by the SAM translator) and the CDK app's synthesized template can be compared.

Logical ids differ between the tools: CDK appends an 8-character hash to a construct's id, and the
app's construct ids are template.yaml's logical ids, so a resource is named by its id without the
hash; a function's version is `<function>.Version` in both. Intrinsic functions are rendered as
strings (`${OrdersTable.Arn}/index/gsi1` whether written as Fn::Sub or Fn::Join) with parameters
replaced by their values; conditions are decided by those values, as CloudFormation decides them:
a resource whose condition is false is not there, Fn::If is its chosen branch. What each tool adds
on its own, in its own way, is left out and listed in PLUMBING.
"""

import json
import re

# Statements each tool writes its own way for what the template declares elsewhere: tracing and
# logs (SAM by managed policies, CDK inline), and the SQS event source's receive actions.
PLUMBING = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "logs:CreateLogGroup", "logs:CreateLogStream",
    "logs:PutLogEvents", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl",
    "sqs:DeleteMessage", "sqs:GetQueueAttributes",
}

# Strings that name the same thing. SAM's SQSSendMessagePolicy builds the queue's ARN from its name;
# a grant on each deployment group of the application is a grant on the application's; an HTTP
# API's endpoint attribute is the URL SAM's outputs spell out.
EQUIVALENT = [
    (re.compile(r"\$\{(\w+)\.ApiEndpoint\}"), r"https://${\1}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
    (re.compile(r"arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:\$\{(\w+)\.QueueName\}"),
     r"${\1.Arn}"),
    (re.compile(r"(:deploymentgroup:\$\{\w+\})/\$\{\w+DeploymentGroup\}"), r"\1/*"),
]

# Managed policies SAM attaches for what CDK writes as inline statements (PLUMBING): tracing and
# the SQS event source's receive actions.
MANAGED_PLUMBING = {"arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
                    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"}

CDK_HASH = re.compile(r"[0-9A-F]{8}$")

# What Fn::If gives for AWS::NoValue: the property, or the list item, is left out.
NO_VALUE = object()


class Template:
    def __init__(self, template, parameters, cdk):
        self.resources = template["Resources"]
        self.outputs = template.get("Outputs", {})
        self.parameters = template.get("Parameters", {})
        self.conditions = template.get("Conditions", {})
        self.values = parameters
        self.cdk = cdk

    def holds(self, condition):
        """A condition's value for the parameters' values."""
        (fn, arg), = self.conditions[condition].items() if isinstance(condition, str) else condition.items()
        if fn == "Condition":
            return self.holds(arg)
        if fn == "Fn::Equals":
            undecided = [x["Ref"] for x in arg if isinstance(x, dict) and x.get("Ref") in self.parameters
                         and x["Ref"] not in self.values]
            if undecided:
                raise ValueError(f"no value for the parameters {undecided}")
            a, b = (x if isinstance(x, str) else self.render(x) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not self.holds(arg[0])
        if fn == "Fn::And":
            return all(self.holds(c) for c in arg)
        if fn == "Fn::Or":
            return any(self.holds(c) for c in arg)
        raise ValueError(f"a condition the checker cannot decide: {fn}")

    # --- names and values -------------------------------------------------------------------

    def name(self, logical_id):
        resource = self.resources.get(logical_id)
        if resource is None:
            return logical_id
        if resource["Type"] == "AWS::Lambda::Version":
            return self.render(resource["Properties"]["FunctionName"]).strip("${}") + ".Version"
        return CDK_HASH.sub("", logical_id) if self.cdk else logical_id

    def ref(self, target):
        if target in self.values:
            return str(self.values[target])
        return "${" + (target if target.startswith("AWS::") else self.name(target)) + "}"

    def render(self, value):
        """A value as one comparable form: strings for scalars and intrinsics, lists and dicts kept."""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str):
            return self.equivalent(value)
        if isinstance(value, list):
            return [r for r in (self.render(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if fn == "Fn::If":
                condition, then, otherwise = arg
                return self.render(then if self.holds(condition) else otherwise)
            if fn == "Fn::GetAtt":
                target, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.equivalent("${" + self.name(target) + "." + attribute + "}")
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.equivalent(re.sub(r"\$\{([^}!]+)\}", lambda m: self.sub(m.group(1), variables), text))
            if fn == "Fn::Join":
                separator, parts = arg
                return self.equivalent(separator.join(self.text(p) for p in parts))
            if fn.startswith("Fn::") or fn == "Condition":
                return {fn: self.render(arg)}
        return {k: r for k, r in ((k, self.render(v)) for k, v in value.items()) if r is not NO_VALUE}

    def sub(self, variable, variables):
        if variable in variables:
            return self.text(variables[variable])
        if "." in variable:
            target, attribute = variable.split(".", 1)
            return "${" + self.name(target) + "." + attribute + "}"
        return self.ref(variable)

    def text(self, value):
        rendered = self.render(value)
        return rendered if isinstance(rendered, str) else json.dumps(rendered, sort_keys=True)

    @staticmethod
    def equivalent(text):
        for pattern, replacement in EQUIVALENT:
            text = pattern.sub(replacement, text)
        return text

    def of_type(self, kind):
        """The resources of a kind that the parameters' values create."""
        return {lid: r for lid, r in self.resources.items()
                if r["Type"] == kind and ("Condition" not in r or self.holds(r["Condition"]))}

    def props(self, resource, *keys):
        p = resource.get("Properties", {})
        rendered = {k: self.render(p[k]) for k in keys if k in p}
        return {k: v for k, v in rendered.items() if v is not NO_VALUE}

    def referenced(self, value):
        """The resources a value refers to, by name."""
        return set(re.findall(r"\$\{([^}]+)\}", json.dumps(self.render(value))))

    # --- facts ------------------------------------------------------------------------------

    def facts(self):
        facts = {}
        for name, p in self.parameters.items():
            if name in self.values or "Default" in p:
                facts[f"parameter {name}"] = {k: self.render(p.get(k)) for k in
                                              ("Type", "Default", "AllowedValues", "AllowedPattern")}
        for lid, r in self.of_type("AWS::DynamoDB::Table").items():
            p = self.props(r, "KeySchema", "AttributeDefinitions", "BillingMode", "TimeToLiveSpecification",
                           "PointInTimeRecoverySpecification", "DeletionProtectionEnabled", "SSESpecification")
            indexes = r["Properties"].get("GlobalSecondaryIndexes", [])
            p["AttributeDefinitions"] = sorted(p.get("AttributeDefinitions", []), key=json.dumps)
            p["GlobalSecondaryIndexes"] = {i["IndexName"]: self.render({k: i[k] for k in ("KeySchema", "Projection")})
                                           for i in indexes}
            p["DeletionPolicy"] = r.get("DeletionPolicy", "Delete")
            facts[f"table {self.name(lid)}"] = p
        for lid, r in self.of_type("AWS::SQS::Queue").items():
            facts[f"queue {self.name(lid)}"] = self.props(r, "VisibilityTimeout", "MessageRetentionPeriod",
                                                          "SqsManagedSseEnabled", "RedrivePolicy")
        for lid, r in self.of_type("AWS::S3::Bucket").items():
            p = self.props(r, "BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls",
                           "CorsConfiguration", "LifecycleConfiguration", "VersioningConfiguration")
            p["DeletionPolicy"] = r.get("DeletionPolicy", "Delete")
            facts[f"bucket {self.name(lid)}"] = p
        for lid, r in self.of_type("AWS::S3::BucketPolicy").items():
            facts[f"bucket policy of {self.text(r['Properties']['Bucket'])}"] = self.statements(
                r["Properties"]["PolicyDocument"])
        for lid, r in self.of_type("AWS::SQS::QueuePolicy").items():
            for queue in r["Properties"]["Queues"]:
                facts[f"queue policy of {self.text(queue)}"] = self.statements(r["Properties"]["PolicyDocument"])
        for lid, r in self.of_type("AWS::SecretsManager::Secret").items():
            facts[f"secret {self.name(lid)}"] = self.props(r, "Description", "GenerateSecretString")
        for lid, r in self.of_type("AWS::Logs::LogGroup").items():
            facts[f"log group {self.name(lid)}"] = self.props(r, "RetentionInDays")
        facts.update(self.api())
        for lid, r in self.of_type("AWS::Lambda::Function").items():
            name = self.name(lid)
            p = self.props(r, "Runtime", "Architectures", "Handler", "MemorySize", "Timeout", "TracingConfig",
                           "LoggingConfig", "FunctionName", "ReservedConcurrentExecutions", "DeadLetterConfig",
                           "CapacityProviderConfig", "Layers")
            p["Environment"] = self.render(r["Properties"].get("Environment", {}).get("Variables", {}))
            p["Binary"] = r.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            facts[f"function {name}"] = p
            facts[f"policy of {name}"] = self.role_statements(r["Properties"]["Role"])
            facts[f"managed policies of {name}"] = self.managed_policies(self.role_of(r["Properties"]["Role"]))
        function_roles = {self.role_of(r["Properties"]["Role"]) for r in self.of_type("AWS::Lambda::Function").values()}
        for lid, r in self.of_type("AWS::IAM::Role").items():
            if lid not in function_roles:
                facts[f"role {self.name(lid)}"] = {
                    "AssumedBy": self.statements(r["Properties"]["AssumeRolePolicyDocument"]),
                    "ManagedPolicies": self.managed_policies(lid),
                    "Policies": self.role_statements({"Fn::GetAtt": [lid, "Arn"]}),
                }
        for lid, r in self.of_type("AWS::Lambda::EventInvokeConfig").items():
            facts[f"event invoke config of {self.text(r['Properties']['FunctionName'])}"] = self.props(
                r, "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig", "Qualifier")
        for lid, r in self.of_type("AWS::Lambda::Alias").items():
            p = self.props(r, "Name", "FunctionName", "FunctionVersion", "ProvisionedConcurrencyConfig")
            update = r.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {})
            p["BeforeAllowTrafficHook"] = self.render(update.get("BeforeAllowTrafficHook"))
            p["DeploymentGroup"] = self.render(update.get("DeploymentGroupName"))
            facts[f"alias {self.name(lid)}"] = p
        for lid, r in self.of_type("AWS::CodeDeploy::DeploymentGroup").items():
            p = self.props(r, "ApplicationName", "DeploymentConfigName", "DeploymentStyle")
            alarms = r["Properties"].get("AlarmConfiguration", {})
            p["Alarms"] = sorted(self.text(a["Name"]) for a in alarms.get("Alarms", []))
            rollback = r["Properties"].get("AutoRollbackConfiguration", {})
            events = set(rollback.get("Events", [])) if rollback.get("Enabled") else set()
            if not p["Alarms"]:
                events.discard("DEPLOYMENT_STOP_ON_ALARM")  # no alarm, no effect (CDK refuses it)
            p["Rollback"] = sorted(events)
            facts[f"deployment group {self.name(lid)}"] = p
        for lid, r in self.of_type("AWS::Lambda::EventSourceMapping").items():
            p = self.props(r, "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
                           "ScalingConfig", "EventSourceArn")
            (alias,) = {n for n in self.referenced(r["Properties"]["FunctionName"]) if n.endswith("Aliaslive")}
            facts[f"event source of {alias}"] = p
        for lid, r in self.of_type("AWS::Events::Rule").items():
            p = r["Properties"]
            facts[f"schedule {self.name(lid)}"] = {
                "ScheduleExpression": p["ScheduleExpression"],
                "State": p.get("State", "ENABLED"),
                "Targets": [{k: self.render(t[k]) for k in ("Arn", "RetryPolicy", "DeadLetterConfig") if k in t}
                            for t in p["Targets"]],
            }
        for lid, r in self.of_type("AWS::CloudWatch::Alarm").items():
            facts[f"alarm {self.name(lid)}"] = self.alarm(r["Properties"])
        for lid, r in self.of_type("AWS::KMS::Key").items():
            p = self.props(r, "Description", "EnableKeyRotation")
            p["KeyPolicy"] = self.statements(r["Properties"]["KeyPolicy"])
            facts[f"key {self.name(lid)}"] = p
        for lid, r in self.of_type("AWS::SNS::Topic").items():
            # A key's id or its ARN: either names the key.
            key = self.text(r["Properties"].get("KmsMasterKeyId", "")).removesuffix(".Arn}").removesuffix("}")
            facts[f"topic {self.name(lid)}"] = {"KmsMasterKey": key}
        for lid, r in self.of_type("AWS::SNS::Subscription").items():
            p = self.props(r, "TopicArn", "Protocol", "Endpoint")
            p["Condition"] = r.get("Condition")
            facts[f"subscription {self.name(lid)}"] = p
        for name, output in self.outputs.items():
            facts[f"output {name}"] = self.render(output["Value"])
        return facts

    def statements(self, document):
        """A policy as a set of single (effect, principal, action, resource, condition) grants."""
        grants = set()
        for s in document["Statement"]:
            principal = self.render(s.get("Principal"))
            if principal == {"AWS": "*"}:
                principal = "*"
            if isinstance(principal, dict):  # {"Service": ["x"]} is {"Service": "x"}
                principal = {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in principal.items()}
            for action in as_list(s.get("Action")):
                if action in PLUMBING:
                    continue
                for resource in as_list(s.get("Resource")):
                    grants.add((s["Effect"], json.dumps(principal, sort_keys=True), action, self.text(resource),
                                json.dumps(self.render(s.get("Condition")), sort_keys=True)))
        return sorted(grants)

    def role_of(self, role_arn):
        """The logical id of the role an ARN names."""
        (role,) = {n for n in self.referenced(role_arn)}
        return next(lid for lid in self.resources if self.name(lid) == role.rsplit(".", 1)[0])

    def managed_policies(self, role_id):
        """A role's managed policies by ARN, in the aws partition, less those standing for PLUMBING."""
        arns = {self.text(a).replace("arn:${AWS::Partition}:", "arn:aws:")
                for a in self.resources[role_id]["Properties"].get("ManagedPolicyArns", [])}
        return sorted(arns - MANAGED_PLUMBING)

    def role_statements(self, role_arn):
        role_id = self.role_of(role_arn)
        documents = [p["PolicyDocument"] for p in self.resources[role_id]["Properties"].get("Policies", [])]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                documents.append(policy["Properties"]["PolicyDocument"])
        return sorted({g for d in documents for g in self.statements(d)})

    def alarm(self, p):
        fact = {k: self.render(p[k]) for k in ("AlarmDescription", "ComparisonOperator", "EvaluationPeriods",
                                               "Threshold", "TreatMissingData", "Namespace", "MetricName",
                                               "Statistic", "ExtendedStatistic", "Period") if k in p}
        fact["Dimensions"] = dimensions(self.render(p.get("Dimensions", [])))
        fact["AlarmActions"] = sorted(self.text(a) for a in p.get("AlarmActions", []))
        fact["OKActions"] = sorted(self.text(a) for a in p.get("OKActions", []))
        metrics = {}
        for m in p.get("Metrics", []):
            if "Expression" in m:
                # The expression's own id is a tool's choice; its inputs are named in the expression.
                metrics["expression"] = {"Expression": m["Expression"], "Label": m.get("Label")}
            else:
                stat = self.render(m["MetricStat"])
                stat["Metric"]["Dimensions"] = dimensions(stat["Metric"].get("Dimensions", []))
                metrics[m["Id"]] = stat
        fact["Metrics"] = metrics
        return fact

    def api(self):
        """Routes (method and path, function, authorizer), the JWT authorizer and the stage."""
        facts = {}
        for lid, r in self.of_type("AWS::ApiGatewayV2::Api").items():
            body = r["Properties"].get("Body")
            if body is None:
                continue
            scheme = body["components"]["securitySchemes"]["Jwt"]["x-amazon-apigateway-authorizer"]
            facts["authorizer"] = {"Issuer": self.render(scheme["jwtConfiguration"]["issuer"]),
                                   "Audience": self.render(scheme["jwtConfiguration"]["audience"]),
                                   "IdentitySource": as_list(scheme["identitySource"])}
            for path, methods in body["paths"].items():
                for method, op in methods.items():
                    integration = op["x-amazon-apigateway-integration"]
                    (target,) = {n for n in self.referenced(integration["uri"]) if n.endswith("Aliaslive")}
                    authorizer = "JWT" if op.get("security") == [{"Jwt": []}] else "NONE"
                    facts[f"route {method.upper()} {path}"] = {
                        "Function": target, "Authorization": authorizer,
                        "PayloadFormatVersion": integration["payloadFormatVersion"]}
        for lid, r in self.of_type("AWS::ApiGatewayV2::Authorizer").items():
            p = r["Properties"]
            facts["authorizer"] = {"Issuer": self.render(p["JwtConfiguration"]["Issuer"]),
                                   "Audience": self.render(p["JwtConfiguration"]["Audience"]),
                                   "IdentitySource": p["IdentitySource"]}
        for lid, r in self.of_type("AWS::ApiGatewayV2::Route").items():
            p = r["Properties"]
            (integration_id,) = {lid for lid in self.resources
                                 if self.name(lid) in self.referenced(p["Target"])}
            integration = self.resources[integration_id]["Properties"]
            (target,) = self.referenced(integration["IntegrationUri"])
            facts[f"route {p['RouteKey']}"] = {"Function": target, "Authorization": p.get("AuthorizationType", "NONE"),
                                              "PayloadFormatVersion": integration["PayloadFormatVersion"]}
        for lid, r in self.of_type("AWS::ApiGatewayV2::Stage").items():
            facts[f"stage {r['Properties']['StageName']}"] = self.props(r, "AutoDeploy", "DefaultRouteSettings",
                                                                         "AccessLogSettings")
        return facts


def as_list(value):
    return value if isinstance(value, list) else [value]


def dimensions(items):
    return sorted((d["Name"], d["Value"] if isinstance(d["Value"], str) else json.dumps(d["Value"])) for d in items)


def differences(sam, cdk, only_sam=(), only_cdk=()):
    """Every fact that differs, as a sentence naming it; facts listed in only_* are expected there."""
    found = []
    for key in sorted(set(sam) | set(cdk)):
        if key not in cdk:
            if key not in only_sam:
                found.append(f"{key}: only in template.yaml")
        elif key not in sam:
            if key not in only_cdk:
                found.append(f"{key}: only in the CDK app")
        elif sam[key] != cdk[key]:
            found.append(f"{key}: {describe(sam[key], cdk[key])}")
    return found


def describe(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        parts = [f"{k} is {json.dumps(a.get(k))} in template.yaml, {json.dumps(b.get(k))} in the CDK app"
                 for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        return "; ".join(parts)
    if isinstance(a, list) and isinstance(b, list):
        return (f"template.yaml alone has {[x for x in a if x not in b]}, "
                f"the CDK app alone {[x for x in b if x not in a]}")
    return f"{json.dumps(a)} in template.yaml, {json.dumps(b)} in the CDK app"

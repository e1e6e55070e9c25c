// Roles as CloudFormation would create them, read from a synthesized template (template.yaml
// expanded by the SAM translator, the CDK app's synth, or infra/kubernetes/iam.yaml): which role
// each function binary runs as, and that role's policies with every intrinsic function resolved
// against the resources a test (or scripts/dev) stood up on the emulators.

export const ACCOUNT = '123456789012'
export const REGION = 'us-east-1'

// CDK appends an 8-character hash to a construct's id; the app's construct ids are template.yaml's
// logical ids, so a resource is known by its id without the hash (as tests/template/parity.py does).
const CDK_HASH = /[0-9A-F]{8}$/

// What a pseudo parameter is in the emulated account.
const PSEUDO = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'platform',
  'AWS::NoValue': undefined,
}

// Parameters without a default, as a deployment gives them (tests/template/sam.py's REQUIRED).
const REQUIRED = { JwtIssuer: 'https://issuer.example.com/', JwtAudience: 'platform' }

/**
 * A template's roles. `principals()` lists who runs as which role: each Lambda function by its
 * binary, and each Kubernetes workload (a role whose Metadata names the binaries it serves).
 */
export class Roles {
  /** `binaries` (logical id -> binary) names the functions of a template that does not say
   * which binary each runs (the CDK app's: its functions have template.yaml's logical ids). */
  constructor(name, template, binaries = {}) {
    this.name = name
    this.resources = template.Resources ?? {}
    this.parameters = template.Parameters ?? {}
    this.ids = new Map(Object.keys(this.resources).map((id) => [this.plain(id), id]))
    this.byBinary = new Map()
    for (const [id, resource] of Object.entries(this.resources)) {
      const named = binaries[this.plain(id)]
      for (const binary of binariesOf(resource) ?? (named ? [named] : [])) {
        this.byBinary.set(binary, { role: roleOf(id, resource), served: id })
      }
    }
  }

  /** A logical id without CDK's hash. */
  plain(id) {
    return id.replace(CDK_HASH, '')
  }

  /** Each function's binary by its logical id, for a template that does not say it. */
  binaries() {
    const binaries = {}
    for (const [id, resource] of Object.entries(this.resources)) {
      const binary = resource.Metadata?.BuildProperties?.Binary
      if (binary) binaries[this.plain(id)] = binary
    }
    return binaries
  }

  /** The role `binary` runs as here, or undefined where this template does not run it. */
  roleFor(binary) {
    return this.byBinary.get(binary)?.role
  }

  /** The role's policy documents, resolved against `names` (logical id -> physical name). */
  policies(roleId, names) {
    const role = this.resources[roleId]
    if (!role) throw new Error(`${this.name}: no role ${roleId}`)
    const documents = []
    for (const [i, policy] of (role.Properties?.Policies ?? []).entries()) {
      documents.push({ name: policy.PolicyName ?? `${roleId}Policy${i}`, document: policy.PolicyDocument })
    }
    for (const [id, resource] of Object.entries(this.resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue
      const attached = (resource.Properties.Roles ?? []).some((r) => r?.Ref === roleId)
      if (attached) documents.push({ name: resource.Properties.PolicyName ?? id, document: resource.Properties.PolicyDocument })
    }
    return documents.map(({ name, document }) => ({
      name,
      policy: withSids(this.resolve(document, names)),
    }))
  }

  /** The role's ARN, for messages. */
  roleArn(roleId) {
    return `arn:aws:iam::${ACCOUNT}:role/${this.plain(roleId)}`
  }

  /** `value` with every intrinsic function replaced by what CloudFormation would put there. */
  resolve(value, names) {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, names)).filter((v) => v !== undefined)
    if (value === null || typeof value !== 'object') return value
    const keys = Object.keys(value)
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]], names)
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(value[k], names)]))
  }

  intrinsic(fn, arg, names) {
    switch (fn) {
      case 'Ref':
        return this.ref(arg, names)
      case 'Fn::GetAtt': {
        const [target, attribute] = Array.isArray(arg) ? arg : arg.split(/\.(.*)/s)
        return this.attribute(target, attribute, names)
      }
      case 'Fn::Sub': {
        const [text, variables] = typeof arg === 'string' ? [arg, {}] : arg
        return text.replace(/\$\{([^}!]+)\}/g, (_, name) => {
          if (name in variables) return this.resolve(variables[name], names)
          const [target, attribute] = name.split(/\.(.*)/s)
          return attribute ? this.attribute(target, attribute, names) : this.ref(target, names)
        })
      }
      case 'Fn::Join': {
        const [separator, parts] = arg
        return this.resolve(parts, names).join(separator)
      }
      case 'Fn::Select': {
        const [index, list] = this.resolve(arg, names)
        return list[Number(index)]
      }
      case 'Fn::Split': {
        const [separator, text] = this.resolve(arg, names)
        return text.split(separator)
      }
      case 'Fn::If':
        throw new Error(`${this.name}: a condition in a policy (Fn::If) is not evaluated here; resolve it first`)
      default:
        throw new Error(`${this.name}: the IAM gate cannot resolve ${fn}`)
    }
  }

  ref(target, names) {
    if (target in PSEUDO) return PSEUDO[target]
    // A parameter named as a resource (infra/kubernetes/iam.yaml's OrdersTable) is that resource's name.
    if (target in this.parameters) return names[target] ?? REQUIRED[target] ?? String(this.parameters[target].Default)
    const resource = this.resourceOf(target)
    const name = this.physical(target, names)
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`
      case 'AWS::Lambda::Version': {
        const fn = this.resolve(resource.Properties.FunctionName, names)
        return `${fn.startsWith('arn:') ? fn : this.functionArn(fn)}:1`
      }
      case 'AWS::Lambda::Alias':
        return `${this.functionArn(this.resolve(resource.Properties.FunctionName, names))}:${resource.Properties.Name}`
      default:
        return name
    }
  }

  attribute(target, attribute, names) {
    const resource = this.resourceOf(target)
    const name = this.physical(target, names)
    const arns = {
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`,
      'AWS::SQS::Queue': `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
      'AWS::S3::Bucket': `arn:aws:s3:::${name}`,
      'AWS::Lambda::Function': this.functionArn(name),
      'AWS::IAM::Role': `arn:aws:iam::${ACCOUNT}:role/${name}`,
      'AWS::SNS::Topic': `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`,
      'AWS::KMS::Key': `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}`,
    }
    if (attribute === 'Arn' && resource.Type in arns) return arns[resource.Type]
    if (attribute === 'QueueName' && resource.Type === 'AWS::SQS::Queue') return name
    throw new Error(`${this.name}: the IAM gate cannot resolve ${target}.${attribute} (${resource.Type})`)
  }

  functionArn(name) {
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`
  }

  resourceOf(target) {
    const resource = this.resources[target] ?? this.resources[this.ids.get(target)]
    if (!resource) throw new Error(`${this.name}: a policy names ${target}, which the template does not have`)
    return resource
  }

  /** The name the emulators know a resource by: the one the test provisioned under it, or its
   * logical id (resources the emulators do not hold: secrets, functions, deployment groups). */
  physical(target, names) {
    const plain = this.plain(target)
    return names[plain] ?? plain
  }
}

/** The binaries that run as the role of `resource` where the template says so: a SAM function's
 * (its build Metadata) or a Kubernetes workload role's (Metadata.Serves); undefined for a
 * function that does not say. */
function binariesOf(resource) {
  if (resource.Type === 'AWS::Lambda::Function' || resource.Type === 'AWS::Serverless::Function') {
    const binary = resource.Metadata?.BuildProperties?.Binary
    return binary ? [binary] : undefined
  }
  if (resource.Type === 'AWS::IAM::Role') return resource.Metadata?.Serves ?? []
  return []
}

function roleOf(id, resource) {
  if (resource.Type === 'AWS::IAM::Role') return id
  const role = resource.Properties?.Role
  const target = role?.['Fn::GetAtt']?.[0] ?? role?.Ref
  if (!target) throw new Error(`function ${id} has no role in the template`)
  return target
}

/** Each statement named by its place (`S0`, `S1`…), so an evaluation says which one allowed it. */
function withSids(document) {
  const statements = [document.Statement].flat()
  return { ...document, Statement: statements.map((s, i) => ({ ...s, Sid: `S${i}` })) }
}

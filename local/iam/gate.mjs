// The IAM gate: one address in front of the AWS emulators that refuses what AWS would refuse.
//
// A function's clients sign as the function (access key id = its binary; the session token names
// the physical resources its test provisioned, `OrdersTable=t-1-orders&…`). Each call they make
// is described (calls.mjs) and evaluated by a maintained IAM evaluator against that binary's role
// in every template given (roles.mjs): template.yaml as the SAM translator expands it, the CDK
// app's synth, the Kubernetes workloads' roles. Allowed by all, it is forwarded to the emulator;
// denied by any, it is answered with the service's AccessDenied and written to `denied.jsonl`.
// Which statement allowed each action is appended to `used.tsv`, so `report.mjs` can list what is
// granted and never called. Any other access key (the tests' own set-up and assertions, an AWS CLI)
// is forwarded unjudged.
//
// usage: node gate.mjs --port N --upstream URL [--dynamodb URL] --judge NAME=TEMPLATE.json…
//                      [--record DIR] [--ready FILE]
// `--port 0` takes a free port; the port is written to --ready FILE once the gate listens.

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { runSimulation } from '@cloud-copilot/iam-simulate'

import { describe, scopeOf } from './calls.mjs'
import { ACCOUNT, Roles } from './roles.mjs'

export class Gate {
  /** `judges`: [Roles…]; `record`: a folder for denied.jsonl and used.tsv, or undefined. */
  constructor(judges, { record } = {}) {
    this.judges = judges
    this.record = record
    this.verdicts = new Map()
    this.policies = new Map()
    this.used = new Set()
  }

  /** The binaries some judge gives a role: the identities the gate judges. */
  judged(binary) {
    return this.judges.some((judge) => judge.roleFor(binary))
  }

  /** The verdict on one request by `binary` with these resource names: `{ allowed: true }` or
   * `{ allowed: false, denials: [{ judge, role, action, resource, leadingKeys, reason }] }`. */
  async judge(binary, names, request) {
    let described
    try {
      described = describe(request, (table) => this.tableSchema(table, names))
    } catch (error) {
      return { allowed: false, denials: [{ judge: 'gate', role: '-', action: '?', resource: '?', reason: error.message }] }
    }
    const denials = []
    for (const call of described.calls) {
      for (const judge of this.judges) {
        const role = judge.roleFor(binary)
        if (!role) continue
        const verdict = await this.evaluate(judge, role, names, call)
        if (!verdict.allowed) {
          denials.push({
            judge: judge.name,
            role: judge.roleArn(role),
            action: call.action,
            resource: call.resource,
            leadingKeys: call.context['dynamodb:LeadingKeys'],
            reason: verdict.reason,
          })
        } else {
          this.use(judge.name, role, verdict.statements, call.action)
        }
      }
      this.called(binary, call, names)
    }
    return denials.length ? { allowed: false, denials } : { allowed: true }
  }

  async evaluate(judge, role, names, call) {
    const key = JSON.stringify([judge.name, role, names, call])
    let verdict = this.verdicts.get(key)
    if (!verdict) {
      verdict = this.simulate(judge, role, names, call)
      this.verdicts.set(key, verdict)
    }
    return verdict
  }

  async simulate(judge, role, names, call) {
    const policies = this.policiesOf(judge, role, names)
    const simulation = {
      identityPolicies: policies.map(({ name, policy }) => ({ name, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: call.action,
        principal: judge.roleArn(role),
        resource: { accountId: ACCOUNT, resource: call.resource },
        contextVariables: call.context,
      },
    }
    const outcome = await runSimulation(simulation, {})
    if (outcome.errors) return { allowed: false, reason: `the evaluator refused the request: ${JSON.stringify(outcome.errors)}` }
    const result = outcome.result ?? outcome
    const allowed = outcome.overallResult === 'Allowed'
    if (!allowed) return { allowed, reason: `${outcome.overallResult}: no statement of the role allows it` }
    const statements = (result.analysis?.identityAnalysis?.allowStatements ?? []).map(({ policyId, statement }) => {
      const raw = statement.statementObject ?? statement // the evaluator's parsed statement, or a plain one
      return { policy: policyId, sid: raw.Sid, actions: [raw.Action].flat() }
    })
    return { allowed, statements }
  }

  policiesOf(judge, role, names) {
    const key = JSON.stringify([judge.name, role, names])
    if (!this.policies.has(key)) this.policies.set(key, judge.policies(role, names))
    return this.policies.get(key)
  }

  /** The partition key of a table, and of each of its indexes, by the table's physical name. */
  tableSchema(table, names) {
    for (const judge of this.judges) {
      for (const [id, resource] of Object.entries(judge.resources)) {
        if (resource.Type !== 'AWS::DynamoDB::Table' || (names[judge.plain(id)] ?? judge.plain(id)) !== table) continue
        const hash = (schema) => schema.find((k) => k.KeyType === 'HASH').AttributeName
        const indexes = Object.fromEntries(
          (resource.Properties.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, hash(i.KeySchema)]),
        )
        return { partition: hash(resource.Properties.KeySchema), indexes }
      }
    }
    throw new Error(`a call on table ${table}, which no template's table is provisioned as`)
  }

  /** Notes which statement of `role` allowed `action`, once per action pattern: a role that runs
   * several functions (a Kubernetes workload's) is used by any of them. */
  use(judge, role, statements, action) {
    for (const { policy, sid, actions } of statements) {
      for (const pattern of actions.filter((p) => matches(p, action))) {
        const line = [judge, role, policy, sid, pattern].join('\t')
        if (this.used.has(line)) continue
        this.used.add(line)
        if (this.record) appendFileSync(`${this.record}/used.tsv`, `${line}\n`)
      }
    }
  }

  /** Notes what a function called, in the template's words (`OrdersTable ORDER#,LEDGER#`), once:
   * `calls.tsv` is the map docs/security.md explains each role from. */
  called(binary, call, names) {
    let resource = call.resource.replace(/^(arn:aws:s3:::[^/]+\/[^/]+\/).*/, '$1*') // an object: its folder
    for (const [logical, physical] of Object.entries(names)) resource = resource.replace(physical, logical)
    const prefixes = [...new Set((call.context['dynamodb:LeadingKeys'] ?? []).map((k) => k.split('#')[0] + '#'))].sort()
    const line = [binary, call.action, resource.split(/[:]/).pop(), prefixes.join(',')].join('\t')
    if (this.used.has(line)) return
    this.used.add(line)
    if (this.record) appendFileSync(`${this.record}/calls.tsv`, `${line}\n`)
  }

  deny(binary, denials) {
    for (const denial of denials) {
      const line = { function: binary, ...denial }
      process.stderr.write(`IAM gate: denied ${JSON.stringify(line)}\n`)
      if (this.record) appendFileSync(`${this.record}/denied.jsonl`, `${JSON.stringify(line)}\n`)
    }
  }
}

/** Whether an IAM action pattern (`sqs:SendMessage*`) covers `action`, as IAM compares them. */
export function matches(pattern, action) {
  const escaped = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`).test(action.toLowerCase())
}

/** The names a function's session token carries: logical id -> physical name. */
export function namesOf(token) {
  return Object.fromEntries(new URLSearchParams(token ?? ''))
}

/** What the service answers a call IAM refuses, in its own protocol. */
export function accessDenied(service, binary, denial) {
  const message =
    `User: arn:aws:sts::${ACCOUNT}:assumed-role/${denial.role.split('/').pop()}/${binary} is not authorized to perform: ` +
    `${denial.action} on resource: ${denial.resource}` +
    (denial.leadingKeys ? ` (dynamodb:LeadingKeys ${JSON.stringify(denial.leadingKeys)})` : '') +
    ` because ${denial.judge} grants it no such permission (${denial.reason})`
  if (service === 's3') {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message></Error>`
    return { status: 403, headers: { 'content-type': 'application/xml' }, body: xml }
  }
  const body = JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message, Message: message })
  const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender' }
  return { status: 400, headers, body }
}

function escapeXml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The gate as an HTTP server forwarding to `upstream` (and DynamoDB to `dynamodb`). */
export function serve(gate, { upstream, dynamodb = upstream }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  return http.createServer(async (incoming, outgoing) => {
    if (incoming.url === '/iam-gate') {
      outgoing.writeHead(200, { 'content-type': 'application/json' })
      outgoing.end(JSON.stringify({ judges: gate.judges.map((judge) => judge.name) }))
      return
    }
    const chunks = []
    for await (const chunk of incoming) chunks.push(chunk)
    const body = Buffer.concat(chunks)
    const headers = incoming.headers
    const { accessKey, service } = scopeOf(headers.authorization ?? '')
    try {
      if (gate.judged(accessKey)) {
        const request = { method: incoming.method, url: incoming.url, headers, body }
        const verdict = await gate.judge(accessKey, namesOf(headers['x-amz-security-token']), request)
        if (!verdict.allowed) {
          gate.deny(accessKey, verdict.denials)
          const answer = accessDenied(service, accessKey, verdict.denials[0])
          outgoing.writeHead(answer.status, answer.headers).end(answer.body)
          return
        }
      }
      const target = new URL(service === 'dynamodb' ? dynamodb : upstream)
      const forwarded = http.request(
        { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers, agent },
        (response) => {
          outgoing.writeHead(response.statusCode, response.headers)
          response.pipe(outgoing)
        },
      )
      forwarded.on('error', (error) => outgoing.destroy(error))
      forwarded.end(body)
    } catch (error) {
      process.stderr.write(`IAM gate: ${error.stack}\n`)
      outgoing.writeHead(500, { 'content-type': 'text/plain' }).end(`IAM gate: ${error.message}`)
    }
  })
}

/** Judges from `NAME=FILE` arguments; the CDK app's functions take SAM's binaries by logical id. */
export function loadJudges(specs) {
  const judges = []
  let binaries = {}
  for (const spec of specs) {
    const [name, file] = spec.split(/=(.*)/s)
    const judge = new Roles(name, JSON.parse(readFileSync(file, 'utf8')), binaries)
    binaries = { ...judge.binaries(), ...binaries }
    judges.push(judge)
  }
  return judges
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      upstream: { type: 'string' },
      dynamodb: { type: 'string' },
      judge: { type: 'string', multiple: true, default: [] },
      record: { type: 'string' },
      ready: { type: 'string' },
    },
  })
  const gate = new Gate(loadJudges(values.judge), { record: values.record })
  if (values.record) for (const file of ['used.tsv', 'denied.jsonl', 'calls.tsv']) writeFileSync(`${values.record}/${file}`, '')
  const server = serve(gate, { upstream: values.upstream, dynamodb: values.dynamodb ?? values.upstream })
  server.keepAliveTimeout = 60_000
  server.listen(Number(values.port), '127.0.0.1', () => {
    const { port } = server.address()
    process.stderr.write(`IAM gate on 127.0.0.1:${port}, judging by ${gate.judges.map((j) => j.name).join(', ')}\n`)
    if (values.ready) writeFileSync(values.ready, String(port))
  })
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
}

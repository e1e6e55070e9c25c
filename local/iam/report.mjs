// What the gates saw, after a whole run: every call they denied, and every grant no call used.
// Exits 1 on a denial, or on a grant never used that EXCUSED does not explain.
//
// usage: node report.mjs --judge NAME=TEMPLATE.json… RECORD_DIR…

import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

import { loadJudges } from './gate.mjs'

const DEAD_LETTER =
  'Lambda parks a run that failed its retries in the function’s dead-letter queue with the role; the code never sends there'

// Grants no local run exercises, each with why it is still right: by action pattern, or by
// `<binary> <action pattern>` for one function's.
export const EXCUSED = {
  'sqs:ReceiveMessage': 'the SQS event source mapping polls with the function’s role; locally the platform’s consumer stands in for it',
  'sqs:DeleteMessage': 'the SQS event source mapping polls with the function’s role; locally the platform’s consumer stands in for it',
  'sqs:ChangeMessageVisibility': 'the SQS event source mapping polls with the function’s role; locally the platform’s consumer stands in for it',
  'sqs:GetQueueUrl': 'the SQS event source mapping polls with the function’s role; locally the platform’s consumer stands in for it',
  'orders-create dynamodb:DeleteItem':
    'releases its idempotency claim when the create answers 5xx (http::idempotent); no local fault fails an order’s creation after its claim',
  'payment-reconciler dynamodb:Query':
    'settle() reads the payment again (PaymentStore::get) when the webhook settled it first, a race no test stages for the reconciler',
  // The scheduled functions' own dead-letter queue (FailedRunsQueue): their order-queue grant is
  // sqs:SendMessage*, so this excuses only the dead-letter grant.
  'outbox-relay sqs:SendMessage': DEAD_LETTER,
  'payment-reconciler sqs:SendMessage': DEAD_LETTER,
  'daily-report sqs:SendMessage': DEAD_LETTER,
  'logs:CreateLogGroup': 'Lambda writes the function’s stdout to CloudWatch Logs with the role; the code never calls it',
  'logs:CreateLogStream': 'Lambda writes the function’s stdout to CloudWatch Logs with the role; the code never calls it',
  'logs:PutLogEvents': 'Lambda writes the function’s stdout to CloudWatch Logs with the role; the code never calls it',
  'xray:PutTraceSegments':
    'Lambda sends the active-tracing segments, and the ADOT collector layer (TracesCollectorLayer) exports the spans, with the role; the code sends its spans to the collector only',
  'xray:PutTelemetryRecords':
    'Lambda sends the active-tracing segments, and the ADOT collector layer (TracesCollectorLayer) reports its own, with the role; the code never calls it',
  'sqs:GetQueueAttributes': 'the SQS event source mapping reads the queue with the function’s role when it is created',
  'secretsmanager:GetSecretValue':
    'read at start and every five minutes after (platform::secret); the tests and scripts/dev hand the functions their secrets as values',
  'lambda:InvokeFunction': 'release-check invokes the new versions in AWS; the tests run its probes in-process',
  'codedeploy:PutLifecycleEventHookExecutionStatus':
    'release-check reports to CodeDeploy in AWS; the tests record its verdicts in-process',
}

/** Every (judge, role, policy, statement, action pattern) some role grants; `binary` names the
 * functions that run as the role. */
export function granted(judges) {
  const grants = []
  for (const judge of judges) {
    const roles = new Map()
    for (const [binary, { role }] of judge.byBinary) roles.set(role, [...(roles.get(role) ?? []), binary])
    for (const [role, binaries] of roles) {
      for (const { name, policy } of judge.policies(role, {})) {
        for (const statement of policy.Statement) {
          if (statement.Effect !== 'Allow') continue
          for (const pattern of [statement.Action].flat()) {
            grants.push({ judge: judge.name, role, binary: binaries.join(','), policy: name, sid: statement.Sid, pattern })
          }
        }
      }
    }
  }
  return grants
}

/** The report's lines and whether it passes. */
export function judgeRun(judges, records) {
  const lines = []
  const denied = records.flatMap((dir) => read(`${dir}/denied.jsonl`).map((line) => JSON.parse(line)))
  for (const denial of denied) {
    lines.push(
      `DENIED ${denial.function} ${denial.action} on ${denial.resource}` +
        (denial.leadingKeys ? ` keys ${JSON.stringify(denial.leadingKeys)}` : '') +
        ` by ${denial.judge} (${denial.role}): ${denial.reason}`,
    )
  }
  const used = new Set(records.flatMap((dir) => read(`${dir}/used.tsv`)))
  const unused = granted(judges).filter((g) => !used.has([g.judge, g.role, g.policy, g.sid, g.pattern].join('\t')))
  let unexplained = 0
  for (const g of unused) {
    const why = g.binary.split(',').map((b) => EXCUSED[`${b} ${g.pattern}`]).find(Boolean) ?? EXCUSED[g.pattern]
    if (!why) unexplained += 1
    lines.push(`${why ? 'never called (excused)' : 'NEVER CALLED'} ${g.binary}: ${g.pattern} in ${g.judge} ${g.policy} ${g.sid}${why ? ` — ${why}` : ''}`)
  }
  return { lines, passed: denied.length === 0 && unexplained === 0, denied: denied.length, unexplained }
}

function read(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    options: { judge: { type: 'string', multiple: true, default: [] } },
    allowPositionals: true,
  })
  const { lines, passed, denied, unexplained } = judgeRun(loadJudges(values.judge), positionals)
  for (const line of lines) console.log(line)
  console.log(`IAM: ${denied} calls denied, ${unexplained} grants never called and not excused`)
  process.exit(passed ? 0 : 1)
}

// The IAM gate itself: it refuses what the roles do not allow, as AWS would, and only that.
// Run by scripts/test (node --test) on the templates scripts/iam-templates made (IAM_TEMPLATES).

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { describe as describeCall } from '../../local/iam/calls.mjs'
import { Gate, loadJudges, serve } from '../../local/iam/gate.mjs'
import { judgeRun } from '../../local/iam/report.mjs'
import { Roles } from '../../local/iam/roles.mjs'

const templates = process.env.IAM_TEMPLATES ?? new URL('../../.local/iam-templates', import.meta.url).pathname
const sam = () => JSON.parse(readFileSync(join(templates, 'sam.json'), 'utf8'))
const NAMES = 'OrdersTable=t-1-orders&OrderQueue=t-1-order-queue&OrderDeadLetterQueue=t-1-order-dlq&ExportsBucket=t-1-exports'

/** An SDK-shaped DynamoDB request signed as `binary` (the gate reads the key, not the signature). */
function dynamodb(binary, operation, body) {
  return {
    method: 'POST',
    path: '/',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${binary}/20261202/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
      'x-amz-target': `DynamoDB_20120810.${operation}`,
      'x-amz-security-token': NAMES,
      'content-type': 'application/x-amz-json-1.0',
    },
    body: JSON.stringify({ TableName: 't-1-orders', ...body }),
  }
}

const getPayment = dynamodb('payments-refund', 'GetItem', { Key: { pk: { S: 'PAYMENT#1' }, sk: { S: 'PAYMENT' } } })

/** The refund function's item statements, for a mutation to change. */
function refundItemStatements(template) {
  const role = template.Resources.PaymentsRefundFunctionRole
  return role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement).filter((s) =>
    JSON.stringify(s.Resource).includes('OrdersTable'),
  )
}

/** A gate over `template` in front of an upstream that answers 200 and counts what reached it. */
async function gateOver(template) {
  const upstream = http.createServer((req, res) => {
    upstream.reached += 1
    req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  upstream.reached = 0
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const record = mkdtempSync(join(tmpdir(), 'iam-gate-'))
  const gate = new Gate([new Roles('sam', template)], { record })
  const url = `http://127.0.0.1:${upstream.address().port}`
  const server = serve(gate, { upstream: url })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const send = (request) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: server.address().port, ...request }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode, text }))
      })
      req.on('error', reject)
      req.end(request.body)
    })
  const close = () => Promise.all([server, upstream].map((s) => new Promise((r) => s.close(r))))
  const denied = () => readFileSync(join(record, 'denied.jsonl'), 'utf8').split('\n').filter(Boolean).map(JSON.parse)
  return { send, close, upstream, denied, record }
}

describe('the gate over template.yaml as expanded', () => {
  let gate
  before(async () => (gate = await gateOver(sam())))
  after(() => gate.close())

  test('forwards a call the role allows', async () => {
    const answer = await gate.send(getPayment)
    assert.equal(answer.status, 200, answer.text)
    assert.equal(gate.upstream.reached, 1)
  })

  test('forwards what is not a function, unjudged (the tests’ own set-up)', async () => {
    const harness = dynamodb('testing', 'DeleteItem', { Key: { pk: { S: 'LEDGER#1' }, sk: { S: 'x' } } })
    assert.equal((await gate.send(harness)).status, 200)
  })

  test('refuses an update of a ledger entry by any payment function', async () => {
    for (const binary of ['payments-create', 'payments-refund', 'payment-webhook', 'payment-reconciler']) {
      const update = dynamodb(binary, 'UpdateItem', { Key: { pk: { S: 'LEDGER#1' }, sk: { S: 'ENTRY#1' } } })
      const answer = await gate.send(update)
      assert.equal(answer.status, 400, `${binary}: ${answer.text}`)
      assert.match(answer.text, /AccessDeniedException/)
    }
  })
})

test('a role without dynamodb:GetItem: the refund’s read is refused as AWS would, naming function, action, resource and key', async () => {
  const template = sam()
  for (const statement of refundItemStatements(template)) {
    statement.Action = [statement.Action].flat().filter((a) => a !== 'dynamodb:GetItem')
  }
  const gate = await gateOver(template)
  try {
    const answer = await gate.send(getPayment)
    assert.equal(answer.status, 400)
    const body = JSON.parse(answer.text)
    assert.equal(body.__type, 'com.amazon.coral.service#AccessDeniedException')
    assert.match(body.message, /payments-refund is not authorized to perform: dynamodb:GetItem/)
    assert.equal(gate.upstream.reached, 0, 'a refused call never reaches the emulator')
    const [denial] = gate.denied()
    assert.deepEqual(
      [denial.function, denial.action, denial.resource, denial.leadingKeys],
      ['payments-refund', 'dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/t-1-orders', ['PAYMENT#1']],
    )
  } finally {
    await gate.close()
  }
})

test('a narrowed dynamodb:LeadingKeys prefix: a key outside it is refused', async () => {
  const template = sam()
  for (const statement of refundItemStatements(template)) {
    const keys = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']
    if (keys) statement.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = keys.map((k) => k.replace('PAYMENT#*', 'PAYMENT#9*'))
  }
  const gate = await gateOver(template)
  try {
    assert.equal((await gate.send(getPayment)).status, 400)
    const inside = dynamodb('payments-refund', 'GetItem', { Key: { pk: { S: 'PAYMENT#91' }, sk: { S: 'PAYMENT' } } })
    assert.equal((await gate.send(inside)).status, 200)
  } finally {
    await gate.close()
  }
})

test('the daily report lists only the exports bucket’s pending-reconciliation markers (s3:prefix)', async () => {
  const gate = await gateOver(sam())
  const list = (prefix) => ({
    method: 'GET',
    path: `/t-1-exports?list-type=2${prefix === undefined ? '' : `&prefix=${encodeURIComponent(prefix)}`}`,
    headers: {
      authorization: 'AWS4-HMAC-SHA256 Credential=daily-report/20261202/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-security-token': NAMES,
    },
  })
  try {
    assert.equal((await gate.send(list('reports/reconciliation-pending/'))).status, 200)
    assert.equal((await gate.send(list('reports/'))).status, 403)
    assert.equal((await gate.send(list(undefined))).status, 403)
  } finally {
    await gate.close()
  }
})

describe('what a request asks IAM for', () => {
  const tables = () => ({ partition: 'pk', indexes: { gsi1: 'gsi1pk' } })
  const request = (operation, body, service = 'dynamodb', target = `DynamoDB_20120810.${operation}`) => ({
    method: 'POST',
    url: '/',
    headers: { authorization: `AWS4-HMAC-SHA256 Credential=f/20261202/us-east-1/${service}/aws4_request`, 'x-amz-target': target },
    body: Buffer.from(JSON.stringify(body)),
  })

  test('a transaction: each write’s own action and key', () => {
    const { calls } = describeCall(
      request('TransactWriteItems', {
        TransactItems: [
          { Put: { TableName: 't', Item: { pk: { S: 'LEDGER#1' } } } },
          { Update: { TableName: 't', Key: { pk: { S: 'PAYMENT#1' } } } },
          { ConditionCheck: { TableName: 't', Key: { pk: { S: 'ORDER#1' } } } },
        ],
      }),
      tables,
    )
    assert.deepEqual(
      calls.map((c) => [c.action, c.context['dynamodb:LeadingKeys']]),
      [
        ['dynamodb:PutItem', ['LEDGER#1']],
        ['dynamodb:UpdateItem', ['PAYMENT#1']],
        ['dynamodb:ConditionCheckItem', ['ORDER#1']],
      ],
    )
  })

  test('a query: the index’s resource and its partition key’s value', () => {
    const { calls } = describeCall(
      request('Query', {
        TableName: 't',
        IndexName: 'gsi1',
        KeyConditionExpression: '#k = :c AND gsi1sk > :s',
        ExpressionAttributeNames: { '#k': 'gsi1pk' },
        ExpressionAttributeValues: { ':c': { S: 'CUSTOMER#alice' }, ':s': { S: '0' } },
      }),
      tables,
    )
    assert.deepEqual(calls, [
      {
        action: 'dynamodb:Query',
        resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/index/gsi1',
        context: { 'dynamodb:LeadingKeys': ['CUSTOMER#alice'] },
      },
    ])
  })

  test('S3’s multipart steps are s3:PutObject, its abort is not', () => {
    const s3 = (method, url) => ({ method, url, headers: { authorization: 'Credential=f/d/r/s3/aws4_request' }, body: Buffer.alloc(0) })
    const actions = [
      s3('POST', '/b/reports/x.csv?uploads'),
      s3('PUT', '/b/reports/x.csv?partNumber=1&uploadId=u'),
      s3('POST', '/b/reports/x.csv?uploadId=u'),
      s3('DELETE', '/b/reports/x.csv?uploadId=u'),
    ].map((r) => describeCall(r, tables).calls[0])
    assert.deepEqual(
      actions.map((c) => [c.action, c.resource]),
      [
        ['s3:PutObject', 'arn:aws:s3:::b/reports/x.csv'],
        ['s3:PutObject', 'arn:aws:s3:::b/reports/x.csv'],
        ['s3:PutObject', 'arn:aws:s3:::b/reports/x.csv'],
        ['s3:AbortMultipartUpload', 'arn:aws:s3:::b/reports/x.csv'],
      ],
    )
  })

  test('a call the gate cannot describe is refused, not waved through', () => {
    assert.throws(() => describeCall(request('Scan', {}, 'kinesis', 'Kinesis_20131202.PutRecord'), tables), /does not describe/)
  })
})

test('the report: a grant no call used fails the run unless excused, and so does any denial', () => {
  const judges = loadJudges([`sam=${join(templates, 'sam.json')}`])
  const empty = mkdtempSync(join(tmpdir(), 'iam-report-'))
  const { passed, lines } = judgeRun(judges, [empty])
  assert.equal(passed, false)
  assert.ok(lines.some((l) => l.startsWith('NEVER CALLED payments-refund: dynamodb:GetItem')), lines.join('\n'))
  assert.ok(lines.some((l) => l.startsWith('never called (excused) orders-list: secretsmanager:GetSecretValue')))
})

// What an AWS request asks IAM for: each action, the resource it acts on and the condition keys
// the policies may test, read from the request as the service would read it. A transaction asks
// for each of its writes' actions (TransactWriteItems is no IAM action), and
// `dynamodb:LeadingKeys` holds every partition key value a request touches.

import { ACCOUNT, REGION } from './roles.mjs'

/**
 * The calls of one request: `{ service, operation, calls: [{ action, resource, context }] }`.
 * `tables(name)` gives a table's partition key attribute, and each index's, by the table's name.
 * Throws where the request is of a kind the gate does not know: better refused than waved through.
 */
export function describe(request, tables) {
  const service = scopeOf(request.headers.authorization ?? '').service
  const target = request.headers['x-amz-target'] ?? ''
  const body = target ? JSON.parse(request.body.toString('utf8') || '{}') : undefined
  switch (service) {
    case 'dynamodb':
      return dynamodb(target.split('.')[1], body, tables)
    case 'sqs':
      return sqs(target.split('.')[1], body)
    case 'secretsmanager':
      return secretsmanager(target.split('.')[1], body)
    case 's3':
      return s3(request)
    case 'lambda':
      return lambda(request)
    default:
      throw new Error(`a call to ${service || 'an unsigned endpoint'}, which the IAM gate does not describe`)
  }
}

/** `Credential=<access key>/<date>/<region>/<service>/aws4_request` of a SigV4 Authorization. */
export function scopeOf(authorization) {
  const [accessKey, , , service] = (authorization.split('Credential=')[1] ?? '').split(/[/,\s]/)
  return { accessKey, service }
}

const tableArn = (name) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`

function dynamodb(operation, body, tables) {
  const item = (action, op) => {
    const { partition } = tables(op.TableName)
    const keys = op.Key ?? op.Item ?? {}
    return {
      action,
      resource: tableArn(op.TableName),
      context: { 'dynamodb:LeadingKeys': [scalar(keys[partition])].filter((v) => v !== undefined) },
    }
  }
  const calls = (() => {
    switch (operation) {
      case 'GetItem':
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return [item(`dynamodb:${operation}`, body)]
      case 'TransactWriteItems':
        return body.TransactItems.map((entry) => {
          const [kind, op] = Object.entries(entry)[0]
          const action = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' }[kind]
          return item(`dynamodb:${action}`, op)
        })
      case 'TransactGetItems':
        return body.TransactItems.map((entry) => item('dynamodb:GetItem', entry.Get))
      case 'BatchGetItem':
      case 'BatchWriteItem':
        return Object.entries(body.RequestItems).map(([table, requests]) => {
          const { partition } = tables(table)
          const keys = [requests.Keys ?? requests.map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key)].flat()
          return {
            action: `dynamodb:${operation}`,
            resource: tableArn(table),
            context: { 'dynamodb:LeadingKeys': [...new Set(keys.map((k) => scalar(k[partition])))] },
          }
        })
      case 'Query': {
        const schema = tables(body.TableName)
        const partition = body.IndexName ? schema.indexes[body.IndexName] : schema.partition
        if (partition === undefined) throw new Error(`${body.TableName} has no index ${body.IndexName}`)
        const resource = body.IndexName ? `${tableArn(body.TableName)}/index/${body.IndexName}` : tableArn(body.TableName)
        return [{ action: 'dynamodb:Query', resource, context: { 'dynamodb:LeadingKeys': [queried(body, partition)] } }]
      }
      case 'Scan':
        return [{ action: 'dynamodb:Scan', resource: body.IndexName ? `${tableArn(body.TableName)}/index/${body.IndexName}` : tableArn(body.TableName), context: {} }]
      case 'DescribeTable':
      case 'CreateTable':
      case 'DeleteTable':
      case 'UpdateTimeToLive':
      case 'DescribeTimeToLive':
        return [{ action: `dynamodb:${operation}`, resource: tableArn(body.TableName), context: {} }]
      default:
        throw new Error(`DynamoDB ${operation}, which the IAM gate does not describe`)
    }
  })()
  return { service: 'dynamodb', operation, calls }
}

/** The value a query's key condition gives the partition key (`#pk = :v` or `pk = :v`). */
function queried(body, partition) {
  const names = body.ExpressionAttributeNames ?? {}
  for (const [, left, right] of (body.KeyConditionExpression ?? '').matchAll(/([#:\w]+)\s*=\s*([#:\w]+)/g)) {
    const [name, value] = left.startsWith(':') ? [right, left] : [left, right]
    if ((names[name] ?? name) === partition) return scalar(body.ExpressionAttributeValues?.[value])
  }
  throw new Error(`a query whose key condition does not name its partition key ${partition}`)
}

/** A key attribute's value as a string (`{"S": "ORDER#1"}` -> `ORDER#1`). */
function scalar(attribute) {
  if (attribute === undefined) return undefined
  const [, value] = Object.entries(attribute)[0]
  return String(value)
}

const SQS_ACTIONS = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
}

function sqs(operation, body) {
  if (operation === undefined) throw new Error('an SQS call in the query protocol, which the IAM gate does not describe')
  const name = body.QueueUrl ? body.QueueUrl.split('/').pop() : body.QueueName
  if (operation === 'ListQueues') return { service: 'sqs', operation, calls: [{ action: 'sqs:ListQueues', resource: '*', context: {} }] }
  const action = `sqs:${SQS_ACTIONS[operation] ?? operation}`
  return { service: 'sqs', operation, calls: [{ action, resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`, context: {} }] }
}

function secretsmanager(operation, body) {
  const id = body.SecretId ?? body.Name
  const resource = id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}`
  return { service: 'secretsmanager', operation, calls: [{ action: `secretsmanager:${operation}`, resource, context: {} }] }
}

/** S3 in path style (`/bucket/key?…`), as the SDK addresses an emulator. */
function s3(request) {
  const url = new URL(request.url, 'http://emulator')
  const [bucket, ...rest] = url.pathname.slice(1).split('/')
  const key = decodeURIComponent(rest.join('/'))
  const q = url.searchParams
  const method = request.method
  const object = `arn:aws:s3:::${bucket}/${key}`
  const on = (operation, action, resource = object) => ({ service: 's3', operation, calls: [{ action, resource, context: {} }] })
  if (!key) {
    if (method === 'PUT') return on('CreateBucket', 's3:CreateBucket', `arn:aws:s3:::${bucket}`)
    if (method === 'DELETE') return on('DeleteBucket', 's3:DeleteBucket', `arn:aws:s3:::${bucket}`)
    if (method === 'GET' || method === 'HEAD') {
      const listed = on('ListObjects', 's3:ListBucket', `arn:aws:s3:::${bucket}`)
      if (q.has('prefix')) listed.calls[0].context['s3:prefix'] = q.get('prefix')
      return listed
    }
  }
  if (q.has('uploads') && method === 'POST') return on('CreateMultipartUpload', 's3:PutObject')
  if (q.has('uploadId')) {
    if (method === 'PUT') return on('UploadPart', 's3:PutObject')
    if (method === 'POST') return on('CompleteMultipartUpload', 's3:PutObject')
    if (method === 'DELETE') return on('AbortMultipartUpload', 's3:AbortMultipartUpload')
    if (method === 'GET') return on('ListParts', 's3:ListMultipartUploadParts')
  }
  if (method === 'PUT') return on('PutObject', 's3:PutObject')
  if (method === 'GET' || method === 'HEAD') return on('GetObject', 's3:GetObject')
  if (method === 'DELETE') return on('DeleteObject', 's3:DeleteObject')
  throw new Error(`S3 ${method} ${url.pathname}${url.search}, which the IAM gate does not describe`)
}

/** Lambda's Invoke: `POST /2015-03-31/functions/<name or ARN>/invocations?Qualifier=…`. */
function lambda(request) {
  const url = new URL(request.url, 'http://emulator')
  const match = url.pathname.match(/^\/2015-03-31\/functions\/([^/]+)\/invocations$/)
  if (!match) throw new Error(`Lambda ${request.method} ${url.pathname}, which the IAM gate does not describe`)
  let name = decodeURIComponent(match[1])
  const qualifier = url.searchParams.get('Qualifier')
  if (!name.startsWith('arn:')) name = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`
  const resource = qualifier ? `${name}:${qualifier}` : name
  return { service: 'lambda', operation: 'Invoke', calls: [{ action: 'lambda:InvokeFunction', resource, context: {} }] }
}

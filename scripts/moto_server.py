"""Runs moto server, the AWS emulator of SQS and S3 for the tests and the local platform.

With `--dynamodb URL`, DynamoDB calls are forwarded to that emulator (dynoxide), so this one
address serves the table, the queues and the bucket, as the contract promises a developer's AWS
CLI or boto3. Without it, moto serves DynamoDB itself: the second implementation the tests
cross-check against. moto evaluates a condition and applies the write without a lock, so two
threads could both pass the same condition, while real DynamoDB (and dynoxide) is atomic per
item and per transaction and our invariants rely on that: in that mode DynamoDB calls are
serialized, and the other services stay concurrent (SQS long polls must not block the table).
Serialized, moto is one busy Python thread in the tests' cross-check, so the work it does per call
is trimmed where that changes nothing it answers (`quicker_moto`, `moto`, `QuietHandler`).

usage: moto_server.py HOST PORT [--dynamodb URL]
"""

import copy
import http.client
import json
import sys
import threading
import types
import urllib.parse

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

dispatcher = DomainDispatcherApplication(create_backend_app)
dynamodb_lock = threading.Lock()
service_apps = {}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def quicker_moto():
    """Two changes to how moto does its DynamoDB work, none to what it answers.

    A transaction backs up the items it touches, not a deep copy of every table it names (moto's
    way, which made each write to a table of a few hundred items cost tens of milliseconds).
    A result of plain JSON values is written with `json.dumps`, not walked member by member
    against the service model (the same bytes; results with binary or timestamp values, which
    the model encodes, still go through it).
    """
    backend = dynamodb_models.DynamoDBBackend
    moto_transact = backend.transact_write_items
    # The backend's two deep copies are of a transaction's tables (replaced by the items' backup
    # below) and of an updated item, kept for streams (the table has none): both made no-ops.
    dynamodb_models.copy = types.SimpleNamespace(
        deepcopy=lambda value, memo=None: value if isinstance(value, (Table, Item)) else copy.deepcopy(value, memo)
    )

    def transact_write_items(self, transact_items):
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()), {})
            table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            key = op.get("Key") or op.get("Item") if table else None
            if not key or table.hash_key_attr not in key:
                continue
            hash_key = dynamodb_models.DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            if range_attr is not None and range_attr not in key:
                continue
            range_key = dynamodb_models.DynamoType(key[range_attr]) if range_attr else None
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return moto_transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is None:
                    table.items[hash_key] = item
                else:
                    table.items[hash_key][range_key] = item
            raise

    backend.transact_write_items = transact_write_items

    model_serialized = DynamoResult.execute_result

    def execute_result(self, context):
        if not plain(self.result):
            return model_serialized(self, context)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        body = json.dumps(self.result, separators=(",", ":"))
        return 200, {"Content-Type": f"application/x-amz-json-{version}"}, body

    DynamoResult.execute_result = execute_result


def plain(value):
    """Whether `value` is JSON the model serializer would write unchanged (no None to drop, no
    bytes to encode, no datetime to format)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return isinstance(value, (str, int, float))  # bool is an int


def moto(environ, start_response):
    """moto's dispatcher, which looks for a request's service among its modules on every call
    (a fifth of a DynamoDB call's time). A signed request names its service in its credential
    scope (`Credential=<key>/<date>/<region>/dynamodb/aws4_request`), so the app found for the
    first request of a service is kept for the rest."""
    scope = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2].split("/")
    if len(scope) < 4:
        return dispatcher(environ, start_response)
    service = scope[3]
    app = service_apps.get(service) or service_apps.setdefault(service, dispatcher.get_application(environ))
    return app(environ, start_response)


class QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without its line per request (a tenth of moto's time under
    the tests' load); errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


def serialized(environ, start_response):
    with dynamodb_lock:
        return list(moto(environ, start_response))


def forwarder(url):
    target = urllib.parse.urlsplit(url)

    def forward(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["CONTENT-TYPE"] = environ.get("CONTENT_TYPE", "")
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            connection.request(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", body, headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        start_response(f"{response.status} {response.reason}", kept)
        return [data]

    return forward


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    if sys.argv[3:4] == ["--dynamodb"]:
        dynamodb = forwarder(sys.argv[4])
    else:
        quicker_moto()
        dynamodb = serialized

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return dynamodb(environ, start_response)
        return moto(environ, start_response)

    run_simple(host, port, app, threaded=True, request_handler=QuietHandler)


if __name__ == "__main__":
    main()

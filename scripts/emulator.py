"""Runs moto server, the AWS emulator of SQS and S3 for the tests and the local platform.

With `--dynamodb URL`, DynamoDB calls are forwarded to that emulator (dynoxide), so this one
address serves the table, the queues and the bucket, as the contract promises a developer's AWS
CLI or boto3. Without it, moto serves DynamoDB itself: the second implementation the tests
cross-check against. moto evaluates a condition and applies the write without a lock, so two
threads could both pass the same condition, while real DynamoDB (and dynoxide) is atomic per
item and per transaction and our invariants rely on that: in that mode DynamoDB calls are
serialized, and the other services stay concurrent (SQS long polls must not block the table).

usage: emulator.py HOST PORT [--dynamodb URL]
"""

import http.client
import sys
import threading
import urllib.parse

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

dispatcher = DomainDispatcherApplication(create_backend_app)
dynamodb_lock = threading.Lock()
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def serialized(environ, start_response):
    with dynamodb_lock:
        return list(dispatcher(environ, start_response))


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
    dynamodb = forwarder(sys.argv[4]) if sys.argv[3:4] == ["--dynamodb"] else serialized

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return dynamodb(environ, start_response)
        return dispatcher(environ, start_response)

    run_simple(host, port, app, threaded=True)


if __name__ == "__main__":
    main()

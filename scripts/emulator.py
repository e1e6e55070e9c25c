"""Runs moto server, the AWS emulator of the tests and the local platform.

moto evaluates a DynamoDB condition and applies the write without a lock, so two threads can both
pass the same condition. Real DynamoDB is atomic per item and per transaction, and our invariants
rely on that: this launcher serializes DynamoDB calls, and leaves the other services concurrent
(SQS long polls must not block the table).

usage: emulator.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

dispatcher = DomainDispatcherApplication(create_backend_app)
dynamodb_lock = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb_lock:
            return list(dispatcher(environ, start_response))
    return dispatcher(environ, start_response)


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, app, threaded=True)

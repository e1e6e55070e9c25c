"""Load on the local platform: CLIENTS customers, each looping create -> get (until the processor
confirmed it) -> list -> pay -> refund part, for SECONDS. Prints requests per second, latency
percentiles and how many answers were 5xx. A benchmark of the emulators behind scripts/dev, not a test.

usage: python bench/local-load.py [--api URL] [--clients 8] [--seconds 60]
(LOCAL_JWT_SECRET as scripts/dev has it; the README's development default otherwise)
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, secret):
    claims = {"iss": "local", "aud": "platform", "sub": sub, "scope": "orders", "exp": int(time.time()) + 3600}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


class Client:
    def __init__(self, api, secret, stats):
        self.api, self.stats = api, stats
        self.auth = "Bearer " + token(f"load-{uuid.uuid4().hex[:8]}", secret)

    def call(self, method, path, body=None):
        headers = {"authorization": self.auth}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
            headers["idempotency-key"] = str(uuid.uuid4())
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        self.stats.record(time.perf_counter() - started, status)
        return status, json.loads(payload) if payload else None

    def flow(self):
        items = [{"sku": "LOAD-1", "quantity": 2, "unitPrice": 1250}]
        status, order = self.call("POST", "/orders", {"currency": "USD", "items": items})
        if status != 201:
            return
        order_id = order["orderId"]
        for _ in range(50):
            status, order = self.call("GET", f"/orders/{order_id}")
            if status != 200 or order["status"] != "PENDING":
                break
            time.sleep(0.1)
        self.call("GET", f"/orders?customerId={order['customerId']}&limit=10")
        if order.get("status") != "CONFIRMED":
            return
        pay = {"orderId": order_id, "amount": 2500, "currency": "USD", "source": "tok_visa"}
        status, payment = self.call("POST", "/payments", pay)
        if status == 201:
            self.call("POST", f"/payments/{payment['paymentId']}/refund", {"amount": 500})


class Stats:
    def __init__(self):
        self.lock, self.latencies, self.server_errors = threading.Lock(), [], 0

    def record(self, seconds, status):
        with self.lock:
            self.latencies.append(seconds)
            self.server_errors += status >= 500


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:3000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    secret = os.environ.get("LOCAL_JWT_SECRET", "local-development-secret")
    stats, deadline = Stats(), time.time() + args.seconds

    def run():
        client = Client(args.api, secret, stats)
        while time.time() < deadline:
            client.flow()

    started = time.time()
    threads = [threading.Thread(target=run) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    latencies = sorted(stats.latencies)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"{len(latencies)} requests in {elapsed:.0f} s by {args.clients} clients: {len(latencies) / elapsed:.1f} req/s, "
        f"p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, {stats.server_errors} 5xx"
    )


if __name__ == "__main__":
    main()

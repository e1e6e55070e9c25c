"""End to end: the README's first command, driven over real HTTP like any client would.

Starts `scripts/dev --fresh` on free ports, then walks an order through create, processing,
payment, refund, listing, cancellation and the report, and reads the CSV from the emulated S3.
"""

import csv
import io
import json
import time
import urllib.error
import urllib.request
import uuid

import boto3

from conftest import token

def call(platform, method, path, body=None, sub="e2e-customer", scope="orders", headers=None, bearer=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(platform["api"] + path, data=data, method=method)
    request.add_header("authorization", f"Bearer {bearer or token(sub, scope)}")
    if data is not None:
        request.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def wait_for_status(platform, order_id, status):
    for _ in range(100):
        code, order, _ = call(platform, "GET", f"/orders/{order_id}")
        if order.get("status") == status:
            return order
        time.sleep(0.1)
    raise AssertionError(f"order {order_id} never became {status}: {order}")


def test_an_order_goes_from_creation_to_the_report(platform):
    items = [{"sku": "SKU-1", "quantity": 2, "unitPrice": 1250}, {"sku": "SKU-2", "quantity": 1, "unitPrice": 99}]
    status, order, headers = call(platform, "POST", "/orders", {"currency": "USD", "items": items},
                                  headers={"idempotency-key": str(uuid.uuid4())})
    assert status == 201, order
    assert headers["location"] == f"/orders/{order['orderId']}"
    assert order["total"] == 2599

    confirmed = wait_for_status(platform, order["orderId"], "CONFIRMED")
    assert confirmed["version"] == 2

    status, payment, _ = call(platform, "POST", "/payments", {
        "orderId": order["orderId"], "amount": 2599, "currency": "USD", "source": "tok_visa"})
    assert status == 201, payment
    status, refund, _ = call(platform, "POST", f"/payments/{payment['paymentId']}/refund", {"amount": 599, "reason": "a, \"b\""})
    assert status == 201, refund
    status, fetched, _ = call(platform, "GET", f"/payments/{payment['paymentId']}")
    assert (status, fetched["refunded"], fetched["refunds"]) == (200, 599, [refund])
    assert wait_for_status(platform, order["orderId"], "PARTIALLY_REFUNDED")["refunded"] == 599

    status, other, _ = call(platform, "POST", "/orders", {"currency": "EUR", "items": items})
    status, cancelled, _ = call(platform, "DELETE", f"/orders/{other['orderId']}")
    assert (status, cancelled["status"]) == (200, "CANCELLED")

    status, listing, _ = call(platform, "GET", "/orders?customerId=e2e-customer&limit=1")
    assert status == 200 and len(listing["orders"]) == 1 and listing["nextCursor"]
    status, rest, _ = call(platform, "GET", f"/orders?customerId=e2e-customer&limit=1&cursor={listing['nextCursor']}")
    assert {listing["orders"][0]["orderId"], rest["orders"][0]["orderId"]} == {order["orderId"], other["orderId"]}
    assert rest["nextCursor"] is None

    day = order["createdAt"][:10]
    status, summary, _ = call(platform, "POST", "/_local/report", {"date": day}, sub="e2e-admin", scope="orders:admin")
    assert status == 200, summary
    assert summary["orders"]["count"] == 2
    assert summary["paid"] == {"USD": 2599} and summary["refunded"] == {"USD": 599}
    assert summary["reconciliation"]["USD"]["balanced"], summary["reconciliation"]
    assert summary["reconciliation"]["USD"]["providerCaptured"] == 2599

    s3 = boto3.client("s3", endpoint_url=platform["emulator"], region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    body = s3.get_object(Bucket="local-exports", Key=f"reports/daily/{day}/orders.csv")["Body"].read().decode()
    rows = {row["orderId"]: row for row in csv.DictReader(io.StringIO(body))}
    assert rows[order["orderId"]]["status"] == "PARTIALLY_REFUNDED"
    assert rows[other["orderId"]]["status"] == "CANCELLED"
    body = s3.get_object(Bucket="local-exports", Key=f"reports/daily/{day}/payments.csv")["Body"].read().decode()
    moved = {(row["movement"], row["status"], row["amount"]) for row in csv.DictReader(io.StringIO(body))}
    assert moved == {("CAPTURE", "CAPTURED", "2599"), ("REFUND", "SUCCEEDED", "599")}

    status, backfill, _ = call(platform, "POST", "/_local/report", {"from": day, "to": day}, sub="e2e-admin",
                               scope="orders:admin")
    assert status == 200, backfill
    assert [d["date"] for d in backfill["days"]] == [day]
    assert {**backfill["days"][0], "generatedAt": None} == {**summary, "generatedAt": None}


def test_bad_tokens_are_refused_like_the_authorizer_would(platform):
    for bearer in ["not-a-jwt", token("x", secret="wrong"), token("x", ttl=-60), token("x", iss="elsewhere"),
                   token("x", aud="other")]:
        status, body, _ = call(platform, "GET", "/orders?customerId=x", bearer=bearer)
        assert (status, body["code"]) == (401, "UNAUTHORIZED")


def test_customers_see_only_their_own_orders(platform):
    status, order, _ = call(platform, "POST", "/orders", {"currency": "USD", "items": [{"sku": "A", "quantity": 1, "unitPrice": 1}]},
                            sub="owner")
    assert status == 201
    status, body, _ = call(platform, "GET", f"/orders/{order['orderId']}", sub="someone-else")
    assert (status, body["code"]) == (404, "NOT_FOUND")
    status, body, _ = call(platform, "GET", f"/orders/{order['orderId']}", sub="ops", scope="orders:admin")
    assert status == 200


def control_provider(platform, path, body):
    request = urllib.request.Request(platform["provider"] + path, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_the_providers_refusals_errors_and_outages_behave_as_the_contract_says(platform):
    def confirmed_order():
        items = [{"sku": "SKU-1", "quantity": 1, "unitPrice": 2599}]
        status, order, _ = call(platform, "POST", "/orders", {"currency": "USD", "items": items})
        assert status == 201, order
        return wait_for_status(platform, order["orderId"], "CONFIRMED")["orderId"]

    def pay(order, source, key=None):
        body = {"orderId": order, "amount": 2599, "currency": "USD", "source": source}
        return call(platform, "POST", "/payments", body, headers={"idempotency-key": key} if key else None)

    # A card that needs customer authentication: declined, for good.
    status, declined, _ = pay(confirmed_order(), "tok_threeDSecureRequired")
    assert (status, declined["code"]) == (402, "PAYMENT_DECLINED"), declined
    assert "authentication_required" in json.dumps(declined), declined

    # Captured behind a 500: PENDING, then CAPTURED (its webhook, or the reconciler's look-up).
    status, pending, _ = pay(confirmed_order(), "tok_providerError")
    assert (status, pending["status"]) == (202, "PENDING"), pending
    for _ in range(100):
        _, payment, _ = call(platform, "GET", f"/payments/{pending['paymentId']}")
        if payment["status"] != "PENDING":
            break
        time.sleep(0.1)
    assert payment["status"] == "CAPTURED", payment

    # During an outage: PENDING; the client's keyed retry once it is over captures it, once.
    order, key = confirmed_order(), str(uuid.uuid4())
    control_provider(platform, "/_emulator/outage", {"seconds": 60})
    status, during, _ = pay(order, "tok_visa", key)
    control_provider(platform, "/_emulator/outage", {"seconds": 0})
    status_after, after, _ = pay(order, "tok_visa", key)
    assert (status, during["status"]) == (202, "PENDING"), during
    assert (status_after, after["status"], after["paymentId"]) == (201, "CAPTURED", during["paymentId"]), after
    _, paid, _ = call(platform, "GET", f"/orders/{order}")
    assert (paid["status"], paid["paid"]) == ("PAID", 2599), paid


def test_metrics_are_served_on_their_own_port_never_the_apis(platform):
    with urllib.request.urlopen(platform["metrics"], timeout=10) as response:
        assert response.status == 200
        assert "http_requests_total" in response.read().decode()
    status, _, _ = call(platform, "GET", "/metrics")
    assert status == 404

"""Memory sizes from measured figures: reads lambda-bench's table (stdin) and prints, per function,
the smallest memory whose share of a vCPU keeps the CPU-bound part of a warm invocation within its
latency budget, its duration, and what a million invocations cost, beside the reference stack's.

Lambda gives CPU in proportion to memory (1,769 MB is one vCPU), so CPU time c stretches to
c * 1769 / MB below one vCPU; the rest of an invocation is waiting on AWS and the provider, which
costs memory x time and no CPU. Cost per invocation = MB/1024 * billed seconds * GB-second price
+ the request price; billed time is the duration rounded up to the millisecond. So the CPU costs
the same at any size, the waiting costs more the bigger the function: the smallest size within the
latency budget is the cheapest. The waits below are assumptions (in-region latencies), stated so
the table can be recomputed with others.

Budgets, how much longer than on a whole vCPU an invocation may take: a route the user waits on,
5 ms or a tenth of its waiting, whichever is more; the queue consumer, 50 ms a batch (nobody waits
on it; 10 concurrent consumers at 128 MB still decide over 1,500 orders a second); a schedule, 1 s.

usage: target/release/lambda-bench ... | python3 bench/memory.py
"""

import math
import re
import sys

GB_SECOND = 0.0000133334  # arm64, us-east-1 list price per GB-second
REQUEST = 0.20 / 1e6
ONE_VCPU_MB = 1769
# Waits per invocation, in ms: DynamoDB reads ~3, writes and transactions ~6, SQS sends ~8, the
# payment provider ~300 (Stripe's API), a schedule's scan of an empty index ~3.
WAIT_MS = {
    "orders-create": 6 + 8, "orders-get": 3, "orders-list": 3, "orders-update": 6 + 8, "orders-cancel": 6 + 8,
    "payments-create": 3 + 6 + 300 + 6 + 8, "payments-get": 3, "payments-refund": 3 + 6 + 300 + 6 + 8,
    "order-processor": 3 + 6, "outbox-relay": 3 + 3,  # a batch's ten messages are decided concurrently
}
BUDGET_MS = {"order-processor": 50, "outbox-relay": 1000}
# What the reference (SST) stack gives each kind of function.
REFERENCE_MB = {"order-processor": 512}
REFERENCE_DEFAULT_MB = 256


def duration_ms(cpu_ms, wait_ms, mb):
    return wait_ms + cpu_ms * ONE_VCPU_MB / min(mb, ONE_VCPU_MB)


def cost_per_million(cpu_ms, wait_ms, mb):
    billed = math.ceil(duration_ms(cpu_ms, wait_ms, mb))
    return 1e6 * (mb / 1024 * billed / 1000 * GB_SECOND + REQUEST)


def main():
    rows = []
    for line in sys.stdin:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] not in WAIT_MS:
            continue
        match = re.match(r"([\d.]+) ms", cells[4])
        if match:
            rows.append((cells[0], float(match.group(1))))
    print("| function | CPU / invocation (here) | wait (assumed) | budget | memory | duration | cost / 1M "
          "| reference memory | its duration | its cost / 1M |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, cpu in rows:
        wait = WAIT_MS[name]
        budget = BUDGET_MS.get(name, max(5.0, wait / 10))
        mb = max(128, math.ceil(cpu * ONE_VCPU_MB / budget / 64) * 64)
        ref = REFERENCE_MB.get(name, REFERENCE_DEFAULT_MB)
        print(f"| {name} | {cpu:.3f} ms | {wait} ms | {budget:g} ms | {mb} MB | {duration_ms(cpu, wait, mb):.1f} ms | "
              f"${cost_per_million(cpu, wait, mb):.3f} | {ref} MB | {duration_ms(cpu, wait, ref):.1f} ms | "
              f"${cost_per_million(cpu, wait, ref):.3f} |")


if __name__ == "__main__":
    main()

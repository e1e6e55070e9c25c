"""The local platform, started once per test session with the README's first command."""

import base64
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "e2e-secret"


def free_port():
    """A free port below the kernel's ephemeral range: scripts/dev binds it seconds later, and the
    integration tests beside this lane bind port 0 (ephemeral ports) all the while."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    while True:
        port = random.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, scope="orders", secret=SECRET, ttl=600, **overrides):
    """An HS256 JWT, minted the way the README says any client can."""
    claims = {"iss": "local", "aud": "platform", "sub": sub, "scope": scope, "exp": int(time.time()) + ttl}
    claims.update(overrides)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


@pytest.fixture(scope="session")
def platform():
    api_port, emulator_port, provider_port, metrics_port = free_port(), free_port(), free_port(), free_port()
    state = tempfile.mkdtemp()
    env = dict(
        os.environ,
        PORT=str(api_port),
        EMULATOR_PORT=str(emulator_port),
        PAYMENT_PROVIDER_PORT=str(provider_port),
        METRICS_PORT=str(metrics_port),
        LOCAL_JWT_SECRET=SECRET,
        STATE_FILE=os.path.join(state, "state.json"),
    )
    log = open(os.path.join(state, "dev.log"), "w")
    process = subprocess.Popen(
        [os.path.join(ROOT, "scripts", "dev"), "--fresh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    api = f"http://127.0.0.1:{api_port}"
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{api}/orders", timeout=1)
        except urllib.error.HTTPError:
            break  # any HTTP answer (401 here) means the API is up
        except OSError:
            assert process.poll() is None, open(log.name).read()
            time.sleep(0.5)
    yield {
        "api": api,
        "emulator": f"http://127.0.0.1:{emulator_port}",
        "provider": f"http://127.0.0.1:{provider_port}",
        "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
    }
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)



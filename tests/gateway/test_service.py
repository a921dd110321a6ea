"""`scripts/serve` (what `make run` starts): the portal and the gateway, each its own server
on its own port. Idle connections and slow back ends hold up neither of them."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.gateway.gateway_server import database_environment, free_port

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
IDLE_CONNECTIONS = 8
SLOW_CALLS = 16


@pytest.fixture
def served_both():
    port, gateway_port = free_port(), free_port()
    environment = {
        **os.environ,
        **database_environment(),
        "VENV_BIN": str(Path(sys.executable).parent),
        "PORT": str(port),
        "GATEWAY_PORT": str(gateway_port),
        "WEB_CONCURRENCY": "2",
        "PORTAL_THREADS": "8",
        "GATEWAY_WORKERS": "2",  # as make run: workers import the app with a running loop
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")],
        cwd=ROOT,
        env=environment,
        start_new_session=True,  # Ctrl+C reaches the whole group, as in a terminal
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    portal, gateway = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{gateway_port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if all(httpx.get(f"{url}/healthz").status_code == 200 for url in (portal, gateway)):
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"scripts/serve did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    yield process, portal, gateway
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=30)
    return response.status_code, time.monotonic() - started


def idle_connections(url: str, count: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    return [socket.create_connection((host, int(port))) for _ in range(count)]


def test_both_planes_stay_responsive_and_stop_together(
    served_both, start_backend, make_backend, make_api, client_certificate, trusted_ca, token
):
    process, portal, gateway = served_both
    slow = start_backend(delay=3)
    make_backend(slow.url, ca_certificates=[trusted_ca])
    make_api(slow.url, certificate=client_certificate)

    idle = idle_connections(portal, IDLE_CONNECTIONS) + idle_connections(gateway, IDLE_CONNECTIONS)
    for url in (portal, gateway):
        status, took = timed_get(f"{url}/healthz")
        assert status == 200
        assert took < 1, f"{url}/healthz took {took:.1f} s with idle connections open"

    results = []

    def slow_call():
        response = httpx.get(
            f"{gateway}/orders/orders/1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        results.append(response.status_code)

    callers = [threading.Thread(target=slow_call) for _ in range(SLOW_CALLS)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 5
    while len(slow.requests) < SLOW_CALLS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(slow.requests) == SLOW_CALLS  # all in flight at once
    for url in (portal, gateway):
        status, took = timed_get(f"{url}/healthz")
        assert status == 200
        assert took < 1, f"{url}/healthz took {took:.1f} s with slow calls in flight"
    for caller in callers:
        caller.join()
    assert results == [200] * SLOW_CALLS
    for connection in idle:
        connection.close()

    os.killpg(process.pid, signal.SIGINT)  # Ctrl+C
    assert process.wait(timeout=20) is not None
    for url in (portal, gateway):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz")

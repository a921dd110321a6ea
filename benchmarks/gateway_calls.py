"""The gateway against a direct call: the same request to the same mutual-TLS back end.

    .venv/bin/python benchmarks/gateway_calls.py
    .venv/bin/python benchmarks/gateway_calls.py --requests 2000 --workers 2

Setup, all on 127.0.0.1 and in a throwaway data directory under /tmp:
- a seeded inventory (`--certificates`, `--apis`), plus one API `bench` whose back end is
  tests/gateway/backend_server.py (a real mutual-TLS echo server that counts handshakes), run in
  a process of its own so that it does not share a GIL with the measuring client. The API
  presents an RSA-2048 client certificate; the backend trusts the back end's private CA, so chain
  and name validation stay on;
- the portal under gunicorn with `--worker-class gthread --threads 4`: the sync worker closes
  every connection, gthread keeps the client's connection alive. The client signs in once
  (csrftoken, POST /signin/) and reuses its session cookie, as a script would;
- the direct client: httpx with `gateway.tls.build_context(identity, validation)` for the same
  certificate and the same validation, keep-alive like the gateway's own pool.

Latency: `--rounds` rounds of `--requests`/`--rounds` sequential requests on each path, the two
paths alternating, after a warm-up. Throughput: `--concurrency` threads, each with its own
keep-alive connection, on each path. The back end's handshake count is read before and after
each phase. The SQL queries of one warm gateway call are counted in-process with the test Client.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness

PATH = "items/42"
TARGET_ADDED_P50_MS = 2.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=1000, help="seeded inventory size")
    parser.add_argument("--apis", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per path")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="CALLS",
        default=0,
        help="instead of measuring, profile CALLS warm in-process calls (session and token) "
        "with cProfile and print where the time goes",
    )
    return parser.parse_args()


# The back end, in its own process -------------------------------------------------------------


def serve_backend(pipe, directory: str, certificate_pem: bytes, key_pem: bytes, client_ca: bytes):
    """Run a BackendServer until told to stop; answer "stats" with its counters."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tests.gateway.backend_server import BackendServer
    from tests.pki import Leaf

    leaf = Leaf(
        x509.load_pem_x509_certificate(certificate_pem),
        serialization.load_pem_private_key(key_pem, password=None),
    )
    server = BackendServer(
        Path(directory), leaf, client_cas=[x509.load_pem_x509_certificate(client_ca)]
    )
    server.start()
    pipe.send(server.port)
    while (command := pipe.recv()) != "stop":
        if command == "stats":
            pipe.send(
                {
                    "connections": server.connections,
                    "handshakes": server.handshakes,
                    "requests": len(server.requests),
                }
            )
            server.requests.clear()  # the echo log only grows otherwise
    server.stop()
    pipe.send("stopped")


class Backend:
    def __init__(self, directory: Path, server_leaf, client_ca):
        from tests import pki

        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=serve_backend,
            args=(
                child,
                str(directory),
                pki.certificate_pem(server_leaf),
                pki.key_pem(server_leaf),
                pki.certificate_pem(client_ca),
            ),
            daemon=True,
        )
        self.process.start()
        self.port = self.pipe.recv()
        self.url = f"https://127.0.0.1:{self.port}"
        self.requests = 0

    def handshakes(self) -> int:
        self.pipe.send("stats")
        stats = self.pipe.recv()
        self.requests += stats["requests"]
        return stats["handshakes"]

    def stop(self) -> None:
        self.pipe.send("stop")
        self.pipe.recv()
        self.process.join(timeout=10)


# Setup ----------------------------------------------------------------------------------------


def configure(backend_server_for):
    """The bench API, its backend and certificates; returns (certificate, backend)."""
    from apis import actions
    from apis.models import Backend as BackendModel
    from apis.models import Operation
    from certificates.actions import import_ca_certificate, import_certificate
    from tests import pki

    server_ca = pki.make_ca("Bench Backend CA")
    client_ca = pki.make_ca("Bench Client CA", key=pki.make_key("rsa", slot=101))
    server_leaf = pki.make_leaf(
        server_ca, "127.0.0.1", sans=("127.0.0.1",), key=pki.make_key("rsa", slot=1)
    )
    client_leaf = pki.make_leaf(client_ca, "bench.client.test", key=pki.make_key("rsa", slot=2))
    backend_server = backend_server_for(server_leaf, client_ca)
    certificate = import_certificate(
        "bench-client", pki.make_pfx(client_leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate
    ca = import_ca_certificate("bench-backend-ca", pki.certificate_pem(server_ca))
    backend = actions.save_backend(
        BackendModel(name="bench-backend", url=backend_server.url),
        ca_certificates=[ca],
        client_certificates=[],
    )
    api = actions.create_api(
        display_name="Bench", service_url=f"{backend_server.url}/v1", path="bench"
    )
    Operation.objects.create(
        api=api,
        name="get-item",
        display_name="Get item",
        method="GET",
        url_template="/items/{itemId}",
    )
    actions.set_gateway_credentials(
        api, actions.GatewayCredentials(kind="certificate", certificate=certificate), version=None
    )
    return certificate, backend


def start_gunicorn(data: Path, args) -> tuple[subprocess.Popen, str]:
    import httpx

    port = harness.free_port()
    log = open(data / "gunicorn.log", "wb")  # noqa: SIM115 (closed with the directory)
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
        ],
        cwd=harness.ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError((data / "gunicorn.log").read_text(errors="replace"))
        time.sleep(0.2)


def signed_in(base: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=30, trust_env=False)
    client.get("/signin/")
    response = client.post(
        "/signin/",
        data={
            "username": harness.ADMIN_USERNAME,
            "password": harness.ADMIN_PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    if response.status_code != 302:
        raise RuntimeError(f"Sign-in failed: {response.status_code}")
    return client


def direct_client(certificate, backend):
    """httpx with the context the gateway builds for this certificate and backend."""
    import httpx

    from gateway import forwarding, tls

    validation = tls.ServerValidation(
        validate_chain=backend.validate_certificate_chain,
        validate_name=backend.validate_certificate_name,
        ca_certificates_pem=tuple(
            backend.ca_certificates.order_by("pk").values_list("certificate_pem", flat=True)
        ),
    )
    context = tls.build_context(forwarding.client_identity(certificate), validation)
    return httpx.Client(verify=context, timeout=30, http1=True, http2=False, trust_env=False)


# Measuring ------------------------------------------------------------------------------------


def calls(client, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return times


def concurrent(make_client, url: str, threads: int, per_thread: int) -> float:
    """Requests per second of `threads` clients, each on its own keep-alive connection."""
    clients = [make_client() for _ in range(threads)]
    for client in clients:
        calls(client, url, 5)
    barrier = threading.Barrier(threads + 1)
    failures = []

    def run(client):
        barrier.wait()
        try:
            calls(client, url, per_thread)
        except Exception as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=run, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    if failures:
        raise failures[0]
    return threads * per_thread / elapsed


def body_of(response) -> bytes:
    """A test Client response's body: the gateway streams large answers only."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def gateway_queries(token: str | None = None) -> list[str]:
    """The SQL of one warm gateway call, in-process (same database, same code): with the
    session of a signed-in administrator, or with `token`."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if token:
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    else:
        client = Client(HTTP_HOST="127.0.0.1")
        user = User.objects.get(username=harness.ADMIN_USERNAME)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    url = f"/gateway/bench/{PATH}"
    for _ in range(2):
        response = client.get(url)
        body_of(response)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        body_of(response)
    if response.status_code != 200:
        raise RuntimeError(f"In-process gateway call answered {response.status_code}")
    return [query["sql"] for query in captured]


def profile(count: int, token: str) -> None:
    """Where one in-process gateway call spends its time (Django's test Client, no network
    between client and portal; the back end is real)."""
    import cProfile
    import pstats

    from django.contrib.auth.models import User
    from django.test import Client

    session = Client(HTTP_HOST="127.0.0.1")
    session.force_login(
        User.objects.get(username=harness.ADMIN_USERNAME),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    bearer = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/gateway/bench/{PATH}"
    for label, client in (("session", session), ("API token", bearer)):
        for _ in range(20):
            body_of(client.get(url))
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(count):
            body_of(client.get(url))
        profiler.disable()
        elapsed = (time.perf_counter() - started) * 1000 / count
        print(f"\n## {label}: {elapsed:.2f} ms a call under the profiler, {count} calls\n")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


def main() -> None:
    args = parse_args()
    with harness.throwaway_portal("gateway") as data:
        print(f"Seeding {args.certificates:,} certificates ...", file=sys.stderr, flush=True)
        harness.seed(args.certificates, args.apis)
        from accounts.tokens import issue_token

        _, token = issue_token(harness.administrator(), "benchmark")
        backends = []

        def backend_server(server_leaf, client_ca):
            backends.append(Backend(data / "backend", server_leaf, client_ca))
            return backends[0]

        gunicorn = None
        try:
            certificate, backend = configure(backend_server)
            back_end = backends[0]
            if args.profile:
                profile(args.profile, token)
                return
            queries = {"session": gateway_queries(), "API token": gateway_queries(token)}
            gunicorn, base = start_gunicorn(data, args)
            results = run(args, base, back_end, certificate, backend, token)
        finally:
            if gunicorn is not None:
                gunicorn.terminate()
                gunicorn.wait(timeout=15)
            for server in backends:
                server.stop()
        report(args, results, queries)


def run(args, base: str, back_end: Backend, certificate, backend, token: str) -> dict:
    import httpx

    session = signed_in(base)
    cookies = dict(session.cookies)
    direct_url = f"{back_end.url}/v1/{PATH}"
    gateway_url = f"/gateway/bench/{PATH}"

    def with_session():
        return httpx.Client(base_url=base, timeout=30, trust_env=False, cookies=cookies)

    def with_token():
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=base, timeout=30, trust_env=False, headers=headers)

    # (key, label, new client, URL): every path on keep-alive connections.
    paths = [
        (
            "direct",
            "Direct (httpx, same TLS context)",
            lambda: direct_client(certificate, backend),
            direct_url,
        ),
        ("session", "Gateway, signed-in session", with_session, gateway_url),
        ("token", "Gateway, API token", with_token, gateway_url),
        (
            "floor",
            "Portal floor: GET /healthz (no gateway)",
            lambda: httpx.Client(base_url=base, timeout=30, trust_env=False),
            "/healthz",
        ),
    ]
    clients = {key: make() for key, _, make, _ in paths}
    results = {
        key: {"label": label, "times": [], "seconds": 0.0, "handshakes": 0}
        for key, label, _, _ in paths
    }
    start = back_end.handshakes()
    for key, _, _, url in paths:
        calls(clients[key], url, args.warmup)
    results["warmup_handshakes"] = back_end.handshakes() - start
    per_round = max(1, args.requests // args.rounds)
    for _ in range(args.rounds):
        for key, _, _, url in paths:
            before = back_end.handshakes()
            started = time.perf_counter()
            results[key]["times"] += calls(clients[key], url, per_round)
            results[key]["seconds"] += time.perf_counter() - started
            results[key]["handshakes"] += back_end.handshakes() - before
    per_thread = max(1, args.requests // args.concurrency)
    for key, _, make, url in paths:
        # A first concurrent run opens the connections the gateway's pool needs; then measure.
        concurrent(make, url, args.concurrency, 20)
        before = back_end.handshakes()
        results[key]["rps_concurrent"] = concurrent(make, url, args.concurrency, per_thread)
        results[key]["handshakes_concurrent"] = back_end.handshakes() - before
    for client in clients.values():
        client.close()
    session.close()
    return results


def report(args, results: dict, queries: dict[str, list[str]]) -> None:
    rows = []
    summaries = {}
    for key in ("direct", "session", "token", "floor"):
        result = results[key]
        summary = harness.summary(result["times"])
        summaries[key] = summary
        handshakes = f"{result['handshakes']} / {result['handshakes_concurrent']}"
        rows.append(
            [
                result["label"],
                summary["p50"],
                summary["p95"],
                f"{len(result['times']) / result['seconds']:.0f}",
                f"{result['rps_concurrent']:.0f}",
                "-" if key == "floor" else handshakes,
            ]
        )
    added = {
        key: summaries[key]["p50"] - summaries["direct"]["p50"] for key in ("session", "token")
    }
    for key, label in (("session", "session"), ("token", "API token")):
        rows.append(
            [
                f"Gateway adds ({label})",
                added[key],
                summaries[key]["p95"] - summaries["direct"]["p95"],
                "",
                "",
                "",
            ]
        )
    print(f"Gateway against a direct call, latency in ms ({harness.machine()})")
    print(
        f"\n{args.certificates:,} certificates and {args.apis:,} APIs seeded; gunicorn "
        f"--workers {args.workers} --worker-class gthread --threads {args.threads}; "
        f"{len(results['direct']['times'])} sequential requests per path in {args.rounds} "
        f"alternating rounds after {args.warmup} warm-up requests; {args.concurrency} "
        "concurrent clients for the second req/s column.\n"
    )
    headers = [
        "Path",
        "p50",
        "p95",
        "req/s (1 client)",
        f"req/s ({args.concurrency} clients)",
        "Back-end handshakes while measured (sequential / concurrent)",
    ]
    print(harness.table(headers, rows))
    print(f"\nBack-end handshakes during the warm-up (all paths): {results['warmup_handshakes']}")
    warm = sum(
        results[key]["handshakes"] + results[key]["handshakes_concurrent"]
        for key in ("session", "token")
    )
    for key, label in (("session", "signed-in session"), ("token", "API token")):
        verdict = "met" if added[key] <= TARGET_ADDED_P50_MS else "MISSED"
        print(
            f"Target: the gateway adds at most {TARGET_ADDED_P50_MS:.0f} ms at p50 "
            f"({label}): {verdict} ({added[key]:.2f} ms)."
        )
    print(
        "Target: no back-end handshake per request once warm: "
        f"{'met' if warm == 0 else 'MISSED'} ({warm} while measured through the gateway)."
    )
    for key, sql in queries.items():
        print(f"\nSQL queries of one warm gateway call ({key}, in-process): {len(sql)}")
        for query in sql:
            print(f"  {query[:150]}")


if __name__ == "__main__":
    main()

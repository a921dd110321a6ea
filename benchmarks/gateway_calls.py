"""The gateway beside nginx, both proxying the same mutual-TLS back end with the same client
certificate, and a direct call to that back end.

    .venv/bin/python benchmarks/gateway_calls.py
    .venv/bin/python benchmarks/gateway_calls.py --requests 2000
    .venv/bin/python benchmarks/gateway_calls.py --profile 2000

Setup, all on 127.0.0.1 and in a throwaway data directory under /tmp:
- the back end: Debian's nginx-light (installed when missing: apt-get update, then apt-get
  install -y nginx-light) answering a small JSON body over TLS, requiring a client certificate
  issued by the bench client CA;
- the peer: a second nginx-light proxying to that back end with the same client certificate,
  verifying it against its CA with its name (proxy_ssl_verify), upstream keep-alive on;
- the gateway: `scripts/serve`, the servers `make run` starts (portal and gateway, the gateway
  with GATEWAY_WORKERS workers, 2 by default as nginx's worker_processes), an API `bench` whose
  backend trusts the back end's CA (chain and name validation on) and presents the certificate;
  callers present an API token;
- the direct client: a keep-alive https connection with the gateway's own TLS context.

Each path gets one keep-alive connection (http.client, light enough not to hide the paths'
differences); `--rounds` rounds of `--requests`/`--rounds` calls, the paths alternating, after a
warm-up. --profile runs one gateway worker under cProfile instead and prints where time goes.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import harness

PATH = "items/42"
TARGET_RATIO = 2.0
NGINX = "/usr/sbin/nginx"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed calls per path")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="gateway and nginx workers")
    parser.add_argument(
        "--client",
        choices=["http.client", "httpx"],
        default="http.client",
        help="the measuring client (httpx costs more per call, the same on every path)",
    )
    parser.add_argument("--profile", type=int, metavar="CALLS", default=0)
    return parser.parse_args()


# nginx ----------------------------------------------------------------------------------------


def ensure_nginx() -> None:
    if Path(NGINX).exists():
        return
    print("Installing nginx-light (apt-get) ...", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", "update"], check=True, stdout=subprocess.DEVNULL)  # noqa: S607
    subprocess.run(
        ["apt-get", "install", "-y", "nginx-light"],  # noqa: S607
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


NGINX_COMMON = """
daemon off;
worker_processes {workers};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    keepalive_requests 100000;
    {server}
}}
"""

BACK_END = """
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {directory}/server.pem;
        ssl_certificate_key {directory}/server.key;
        ssl_client_certificate {directory}/client-ca.pem;
        ssl_verify_client on;
        default_type application/json;
        location / {{ return 200 '{{"item": 42, "name": "bench"}}'; }}
    }}
"""

PROXY = """
    upstream back_end {{
        server 127.0.0.1:{backend_port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass https://back_end/v1/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_certificate {directory}/client.pem;
            proxy_ssl_certificate_key {directory}/client.key;
            proxy_ssl_trusted_certificate {directory}/server-ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_name 127.0.0.1;
            proxy_ssl_server_name on;
            proxy_ssl_session_reuse on;
        }}
    }}
"""


def start_nginx(directory: Path, name: str, workers: int, server: str) -> subprocess.Popen:
    directory.mkdir(parents=True, exist_ok=True)
    configuration = directory / f"{name}.conf"
    configuration.write_text(
        NGINX_COMMON.format(workers=workers, directory=directory, server=server)
    )
    return subprocess.Popen(  # noqa: S603
        [NGINX, "-p", str(directory), "-c", str(configuration)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(port: int, process: subprocess.Popen, what: str) -> None:
    import socket

    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.1)


# The portal's side ----------------------------------------------------------------------------


def configure(directory: Path, backend_port: int):
    """Certificates on disk for nginx, and the bench API; returns the client certificate, the
    backend and a token."""
    from accounts.tokens import issue_token
    from apis import actions
    from apis.models import Backend, CredentialsKind, Operation
    from certificates.actions import import_ca_certificate, import_certificate
    from tests import pki

    server_ca = pki.make_ca("Bench Backend CA")
    client_ca = pki.make_ca("Bench Client CA", key=pki.make_key("rsa", slot=101))
    server_leaf = pki.make_leaf(
        server_ca, "127.0.0.1", sans=("127.0.0.1",), key=pki.make_key("rsa", slot=1)
    )
    client_leaf = pki.make_leaf(client_ca, "bench.client.test", key=pki.make_key("rsa", slot=2))
    for name, data in {
        "server.pem": pki.certificate_pem(server_leaf),
        "server.key": pki.key_pem(server_leaf),
        "server-ca.pem": pki.certificate_pem(server_ca),
        "client.pem": pki.certificate_pem(client_leaf),
        "client.key": pki.key_pem(client_leaf),
        "client-ca.pem": pki.certificate_pem(client_ca),
    }.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o600)
    url = f"https://127.0.0.1:{backend_port}"
    certificate = import_certificate(
        "bench-client", pki.make_pfx(client_leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate
    ca = import_ca_certificate("bench-backend-ca", pki.certificate_pem(server_ca))
    backend = actions.save_backend(
        Backend(name="bench-backend", url=url), ca_certificates=[ca], client_certificates=[]
    )
    api = actions.create_api(display_name="Bench", service_url=f"{url}/v1", path="bench")
    Operation.objects.create(
        api=api, name="get-item", display_name="Get item", method="GET", url_template="/items/{id}"
    )
    actions.set_gateway_credentials(
        api,
        actions.GatewayCredentials(kind=CredentialsKind.CERTIFICATE, certificate=certificate),
        version=None,
    )
    _, token = issue_token(harness.administrator(), "benchmark")
    return certificate, backend, token


def start_serve(data: Path, workers: int) -> tuple[subprocess.Popen, int]:
    port, gateway_port = harness.free_port(), harness.free_port()
    log = open(data / "serve.log", "wb")  # noqa: SIM115 (closed with the directory)
    process = subprocess.Popen(  # noqa: S603
        [str(harness.ROOT / "scripts" / "serve")],
        cwd=harness.ROOT,
        env={
            **os.environ,
            "VENV_BIN": str(Path(sys.executable).parent),
            "PORT": str(port),
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_WORKERS": str(workers),
            "WEB_CONCURRENCY": "1",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(gateway_port, process, "scripts/serve")
    return process, gateway_port


def direct_context(certificate, backend):
    """The TLS context the gateway builds for this API."""
    from gateway import forwarding, tls

    validation = tls.ServerValidation(
        validate_chain=backend.validate_certificate_chain,
        validate_name=backend.validate_certificate_name,
        ca_certificates_pem=tuple(
            backend.ca_certificates.order_by("pk").values_list("certificate_pem", flat=True)
        ),
    )
    context = tls.build_context(forwarding.client_identity(certificate), validation)
    context.check_hostname = False  # names: tls.check_name, as the gateway checks them
    return context


# Measuring ------------------------------------------------------------------------------------


class HttpxConnection:
    """httpx.Client with http.client's request/getresponse shape, for --client httpx."""

    def __init__(self, base: str, verify=True):
        import httpx

        self.client = httpx.Client(base_url=base, verify=verify, timeout=30, trust_env=False)

    def request(self, method, url, headers):
        self.response = self.client.request(method, url, headers=headers)

    def getresponse(self):
        response = self.response
        response.status = response.status_code
        return response


def connection_for(args, port: int, context=None):
    if args.client == "httpx":
        scheme = "https" if context is not None else "http"
        return HttpxConnection(f"{scheme}://127.0.0.1:{port}", verify=context or True)
    if context is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def calls(connection, url: str, count: int, headers: dict) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", url, headers=headers)
        response = connection.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}: {body[:300]!r}")
    return times


def profile(args, data: Path, token: str) -> None:
    """One gateway worker under cProfile, `args.profile` calls, then where the time went."""
    import pstats

    port = harness.free_port()
    output = data / "gateway.prof"
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(output),
            "-m",
            "uvicorn",
            "gateway.asgi:application",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=harness.ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        start_new_session=True,
    )
    wait_for(port, process, "the gateway")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    calls(connection, f"/bench/{PATH}", 50, headers)
    times = calls(connection, f"/bench/{PATH}", args.profile, headers)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    print(f"\n## {args.profile} calls, p50 {harness.summary(times)['p50']:.2f} ms under cProfile\n")
    stats = pstats.Stats(str(output))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats("gateway|aiohttp|uvicorn", 25)


def main() -> None:
    args = parse_args()
    ensure_nginx()
    with harness.throwaway_portal("gateway") as data:
        directory = data / "nginx"
        directory.mkdir()
        backend_port, proxy_port = harness.free_port(), harness.free_port()
        processes = []
        try:
            certificate, backend, token = configure(directory, backend_port)
            back_end = start_nginx(
                directory / "back-end",
                "back-end",
                1,
                BACK_END.format(port=backend_port, directory=directory),
            )
            processes.append(back_end)
            wait_for(backend_port, back_end, "the nginx back end")
            if args.profile:
                profile(args, data, token)
                return
            proxy = start_nginx(
                directory / "proxy",
                "proxy",
                args.workers,
                PROXY.format(port=proxy_port, backend_port=backend_port, directory=directory),
            )
            processes.append(proxy)
            wait_for(proxy_port, proxy, "the nginx proxy")
            serve, gateway_port = start_serve(data, args.workers)
            processes.append(serve)
            paths = {
                "direct": (
                    "Direct (same TLS context as the gateway)",
                    connection_for(args, backend_port, direct_context(certificate, backend)),
                    f"/v1/{PATH}",
                    {},
                ),
                "nginx": (
                    "nginx-light proxy (mutual TLS, upstream keep-alive)",
                    connection_for(args, proxy_port),
                    f"/{PATH}",
                    {},
                ),
                "gateway": (
                    "Gateway (scripts/serve, API token)",
                    connection_for(args, gateway_port),
                    f"/bench/{PATH}",
                    {"Authorization": f"Bearer {token}"},
                ),
            }
            times = {key: [] for key in paths}
            for _, connection, url, headers in paths.values():
                calls(connection, url, args.warmup, headers)
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                for key, (_, connection, url, headers) in paths.items():
                    times[key] += calls(connection, url, per_round, headers)
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    # scripts/serve leads a process group of its own: stop all of it.
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=15)
        report(args, paths, times)


def report(args, paths: dict, times: dict) -> None:
    summaries = {key: harness.summary(values) for key, values in times.items()}
    rows = [
        [label, summaries[key]["p50"], summaries[key]["p95"], summaries[key]["n"]]
        for key, (label, *_rest) in paths.items()
    ]
    ratio = summaries["gateway"]["p50"] / summaries["nginx"]["p50"]
    print(
        harness.table(
            ["Path", "p50 ms", "p95 ms", "calls"],
            rows,
            title=f"## Gateway calls ({harness.machine()}; {args.workers} workers each; "
            f"client {args.client})",
        )
    )
    print(
        f"\nGateway p50 / nginx p50: {ratio:.2f}x (target at most {TARGET_RATIO:.0f}x). "
        f"Added over direct at p50: gateway "
        f"{summaries['gateway']['p50'] - summaries['direct']['p50']:.2f} ms, nginx "
        f"{summaries['nginx']['p50'] - summaries['direct']['p50']:.2f} ms."
    )


if __name__ == "__main__":
    main()

"""What the benchmark scripts share: a throwaway portal, seeding, timing and tables.

`throwaway_portal()` must run before anything imports Django settings: it puts the repository
root on sys.path, points PORTAL_DATA_DIR at a new directory under /tmp and sets
DJANGO_SETTINGS_MODULE, then sets Django up and migrates. The directory is removed on exit.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USERNAME = "bench-admin"
ADMIN_PASSWORD = "benchmark password 1"  # a throwaway database on loopback only


@contextlib.contextmanager
def throwaway_portal(
    name: str, *, static: bool = True, database_url: str | None = None
) -> Iterator[Path]:
    """A new data directory with a migrated database, Django set up on it: SQLite in the
    directory, or the (empty, throwaway) PostgreSQL database at `database_url`."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    data = Path(tempfile.mkdtemp(prefix=f"portal-bench-{name}-"))
    os.environ["PORTAL_DATA_DIR"] = str(data)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    # A benchmark measures SQLite in its own directory, whatever the shell points at, unless
    # it is given a database of its own.
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.pop("PORTAL_KEYRING", None)
    os.environ.pop("DJANGO_SECRET_KEY", None)
    try:
        import django

        django.setup()
        from django.conf import settings

        if Path(settings.DATA_DIR) != data.resolve():
            raise RuntimeError("Django settings were loaded before PORTAL_DATA_DIR was set.")
        # Only this process: the measuring client must not log a line per request. (A gunicorn
        # started from here logs as LOG_LEVEL says, INFO by default, as in production.)
        logging.getLogger().setLevel(logging.WARNING)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if static:
            # As `make run` does: the pages link static files through the manifest.
            call_command("collectstatic", interactive=False, verbosity=0)
        yield data
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """A new database `name` on the PostgreSQL server of `server_url` (as scripts/with-postgres
    sets DATABASE_URL), dropped afterwards; yields its URL."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(server_url)
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def start_portal(data: Path, workers: int = 3) -> tuple[subprocess.Popen, str]:
    """The portal served as `make run` serves it (gunicorn, sync workers, access log), on a
    free loopback port, with this process's environment; returns the server and its URL."""
    import httpx

    port = free_port()
    log = open(data / "gunicorn.log", "wb")  # noqa: SIM115 (closed with the directory)
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", trust_env=False).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError((data / "gunicorn.log").read_text(errors="replace"))
        time.sleep(0.2)


def signed_in(base: str):
    """An HTTP client signed in through the portal's own sign-in form as ADMIN_USERNAME."""
    import httpx

    client = httpx.Client(base_url=base, timeout=60, trust_env=False)
    client.get("/signin/")
    response = client.post(
        "/signin/",
        data={
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    if response.status_code != 302:
        raise RuntimeError(f"Sign-in failed: {response.status_code}")
    return client


def administrator():
    """A member of Administrators (not a superuser: permission checks cost what they cost)."""
    from django.contrib.auth.models import Group, User

    from accounts.roles import ADMINISTRATORS

    user = User.objects.create_user(username=ADMIN_USERNAME, password=ADMIN_PASSWORD)
    user.groups.add(Group.objects.get(name=ADMINISTRATORS))
    return user


def seed(certificates: int, apis: int, operations_per_api: int = 3, **more) -> float:
    """Run `manage.py seed_inventory` (`more`: backends, audit_events); returns the seconds
    it took."""
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "seed_inventory",
        certificates=certificates,
        apis=apis,
        operations_per_api=operations_per_api,
        stdout=io.StringIO(),
        **more,
    )
    return time.perf_counter() - started


def seed_backends(count: int = 50) -> None:
    """Backends for the hosts seed_inventory's APIs call; every other one presents a
    certificate of its own (a backend credential), so that usages are of both kinds."""
    from apis.models import Backend, BackendCertificate
    from certificates.models import Certificate

    backends = Backend.objects.bulk_create(
        Backend(name=f"seed-backend-{n:02d}", url=f"https://backend-{n}.internal.example.test")
        for n in range(count)
    )
    certificates = list(Certificate.objects.order_by("name").values_list("pk", flat=True)[:count])
    BackendCertificate.objects.bulk_create(
        BackendCertificate(backend=backend, certificate_id=certificates[n])
        for n, backend in enumerate(backends)
        if n % 2 == 0 and n < len(certificates)
    )


# Measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 30 values is the 29th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values_ms: list[float]) -> dict:
    return {
        "p50": statistics.median(values_ms),
        "p95": percentile(values_ms, 0.95),
        "min": min(values_ms),
        "max": max(values_ms),
        "n": len(values_ms),
    }


def timed(action: Callable[[], object], *, repeat: int, warmup: int) -> list[float]:
    """Milliseconds of each of `repeat` runs of action, after `warmup` runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Output ---------------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list], *, title: str = "") -> str:
    """A Markdown table, so that a run can be pasted into docs/performance.md as it is."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [title, ""] if title else []
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def machine() -> str:
    import platform

    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    )

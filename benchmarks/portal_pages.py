"""Latency and SQL queries of the portal's pages at N = 100, 10,000 and 100,000 certificates,
through the portal served as `make run` serves it, on SQLite or PostgreSQL.

    .venv/bin/python benchmarks/portal_pages.py                        # SQLite, all three N
    scripts/with-postgres .venv/bin/python benchmarks/portal_pages.py --database postgres
    .venv/bin/python benchmarks/portal_pages.py --certificates 100 10000 --repeat 100

Each N lives in a process of its own with a throwaway database (SQLite under /tmp, or a new
database on the PostgreSQL server of DATABASE_URL), seeded with `manage.py seed_inventory`:
N certificates, N/5 APIs with 3 operations each, 50 backends and 10 N audit events (a million
at N = 100,000). The process then starts gunicorn as `make run` does (`--workers 3`, sync
workers, access log to a file) and signs in through the sign-in form as a member of
Administrators. The time is the client's: one HTTP GET on loopback, answer read whole (for
exports, also the time to the first bytes). The SQL queries of one request are counted
in-process with CaptureQueriesContext.

Each page is requested `--warmup` times, then `--repeat` times timed (at least 100 for a p95),
in `--rounds` rounds that alternate between the processes: a burst of load from elsewhere on
the machine then hits every N alike instead of whichever happened to run at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import harness

TARGET_P95_MS = 100.0
TARGET_RATIO = 1.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (make run: 3)")
    parser.add_argument(
        "--apis", type=int, default=None, help="APIs to seed (default: a fifth of N)"
    )
    parser.add_argument("--operations-per-api", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=100, help="timed requests per page")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sql", action="store_true", help="print the SQL of each page")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.database == "postgres" and not os.environ.get("DATABASE_URL"):
        sys.exit("--database postgres needs DATABASE_URL: run it through scripts/with-postgres.")
    if args.child:
        serve(args.certificates[0], args)
        return
    children = [Child(n, args) for n in args.certificates]
    try:
        results = [child.ready() for child in children]
        print("Measuring ...", file=sys.stderr, flush=True)
        per_round = max(1, args.repeat // args.rounds)
        for index in range(len(results[0]["pages"])):
            for child in children:
                child.ask("warmup", index, args.warmup)
            for _ in range(args.rounds):
                for child, result in zip(children, results, strict=True):
                    page = result["pages"][index]
                    if page["streamed"]:  # exports: the first bytes, not the whole inventory
                        times = child.ask("first_bytes", index, per_round)
                        page.setdefault("first_bytes_times", []).extend(times)
                    else:
                        page.setdefault("times", []).extend(child.ask("time", index, per_round))
        for child in children:
            child.ask("check")
    finally:
        for child in children:
            child.close()
    for result in results:
        for page in result["pages"]:
            page.update(harness.summary(page.get("times") or page["first_bytes_times"]))
            if page["streamed"]:
                page["first_bytes"] = harness.summary(page["first_bytes_times"])
    report(results)
    if args.sql:
        for result in results:
            for page in result["pages"]:
                print(f"\nN = {result['n']:,}, {page['page']}: {page['queries']} queries")
                for sql in page["sql"]:
                    print(f"  {sql}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


class Child:
    """One N: a process that seeds its own database, then answers commands line by line."""

    def __init__(self, n: int, args):
        self.n = n
        command = [sys.executable, __file__, "--child", "--certificates", str(n)]
        command += ["--operations-per-api", str(args.operations_per_api)]
        command += ["--database", args.database, "--workers", str(args.workers)]
        if args.apis is not None:
            command += ["--apis", str(args.apis)]
        print(f"Seeding N = {n:,} ...", file=sys.stderr, flush=True)
        # This very script, with arguments made above.
        self.process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"The process for N = {self.n:,} ended early.")
        return json.loads(line)

    def ready(self) -> dict:
        return self._read()

    def ask(self, *command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)


# One N, in its own process ----------------------------------------------------------------


def serve(n: int, args) -> None:
    import contextlib
    import logging

    logging.getLogger("django.request").setLevel(logging.ERROR)
    apis = args.apis if args.apis is not None else max(1, n // 5)
    with contextlib.ExitStack() as stack:
        database_url = None
        if args.database == "postgres":
            name = f"portal_bench_{n}"
            database_url = stack.enter_context(
                harness.postgres_database(os.environ["DATABASE_URL"], name)
            )
        data = stack.enter_context(
            harness.throwaway_portal(f"pages-{n}", database_url=database_url)
        )
        seed_seconds = harness.seed(
            n, apis, args.operations_per_api, backends=50, audit_events=10 * n
        )
        if args.database == "postgres":
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load
        pages = Pages(n)
        server, base = harness.start_portal(data, args.workers)
        stack.callback(server.wait, 30)
        stack.callback(server.terminate)
        pages.connect(base)
        answer(
            {
                "n": n,
                "apis": apis,
                "database": args.database,
                "seed_seconds": seed_seconds,
                "pages": [pages.describe(index) for index in range(len(pages.pages))],
            }
        )
        for line in sys.stdin:
            command, *arguments = json.loads(line)
            answer(getattr(pages, command)(*arguments))


def answer(value) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


class Pages:
    def __init__(self, n: int):
        from django.test import Client

        from apis.models import Api
        from certificates.models import Certificate

        # The certificate the most APIs use (seed_inventory shares a few among many).
        used = Certificate.objects.order_by("name").first()
        api = Api.objects.filter(client_certificate__isnull=False).order_by("name").first()
        middle = Certificate.objects.order_by("name")[n // 2].name
        self.in_use = used.name
        certificates = "/certificates/"
        self.pages = [
            ("List, page 1", certificates),
            ("List, page 2", f"{certificates}?page=2"),
            ("List, last page (keyset)", f"{certificates}?page=last"),
            ("List, a middle page (keyset)", f"{certificates}?after={middle}"),
            ("List by expiration, descending", f"{certificates}?sort=-expires"),
            ("List by usage", f"{certificates}?sort=-used"),
            ("Search, one Id", f"{certificates}?q=seed-000042"),
            ("Search, broad (example)", f"{certificates}?q=example"),
            ("Search, an owner (payments)", f"{certificates}?q=payments"),
            ("Filter: expiring within 30 days", f"{certificates}?status=expiring"),
            ("Filter: unused", f"{certificates}?usage=unused"),
            ("Filter: not presented for 30 days", f"{certificates}?presented=stale"),
            ("Filter: self-signed", f"{certificates}?self_signed=yes"),
            ("Filter: RSA keys", f"{certificates}?key_type=RSA"),
            ("Filter: tag pci", f"{certificates}?tag=pci"),
            ("Certificate page (most used)", used.get_absolute_url()),
            ("Dashboard", "/"),
            ("API Design page", api.get_absolute_url()),
            ("Audit log", "/audit/"),
            ("Audit log, one action", "/audit/?action=certificate-ownership-changed"),
            ("Audit log, who = bob", "/audit/?actor=bob"),
            ("Audit log, last page (keyset)", "/audit/?page=last"),
            ("CSV export, whole inventory", f"{certificates}export.csv"),
            ("Audit CSV export, whole log", "/audit/export.csv"),
        ]
        self.inprocess = Client(HTTP_HOST="127.0.0.1")
        self.inprocess.force_login(
            harness.administrator(), backend="django.contrib.auth.backends.ModelBackend"
        )
        self.inprocess.get("/")  # the session's first request reads the user once more
        self.client = None
        self.before = self._state()

    def connect(self, base: str) -> None:
        self.client = harness.signed_in(base)

    def request(self, index: int) -> bytes:
        _, url = self.pages[index]
        response = self.client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response.content

    def _first_chunk(self, index: int) -> None:
        _, url = self.pages[index]
        with self.client.stream("GET", url) as response:
            next(response.iter_raw())

    def describe(self, index: int) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        label, url = self.pages[index]
        with CaptureQueriesContext(connection) as captured:
            response = self.inprocess.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return {
            "page": label,
            "url": f"GET {url}",
            "status": response.status_code,
            "queries": None if response.streaming else len(captured),
            "sql": [query["sql"] for query in captured],
            "bytes": len(body),
            "streamed": response.streaming,
        }

    def warmup(self, index: int, count: int) -> None:
        for _ in range(count):
            if self.pages[index][1].endswith(".csv"):
                self._first_chunk(index)
            else:
                self.request(index)

    def time(self, index: int, count: int) -> list[float]:
        return harness.timed(lambda: self.request(index), repeat=count, warmup=0)

    def first_bytes(self, index: int, count: int) -> list[float]:
        return harness.timed(lambda: self._first_chunk(index), repeat=count, warmup=0)

    def _state(self) -> tuple:
        """What a blocked deletion must leave as it was."""
        from apis.models import Api, BackendCertificate
        from certificates.models import Certificate

        certificate = Certificate.objects.get(name=self.in_use)
        return (
            Certificate.objects.count(),
            certificate.pk,
            certificate.version,
            sorted(Api.objects.filter(client_certificate=certificate).values_list("pk", flat=True)),
            BackendCertificate.objects.filter(certificate=certificate).count(),
        )

    def check(self) -> bool:
        if self._state() != self.before:
            raise RuntimeError("A blocked deletion changed the inventory.")
        return True


# Report -------------------------------------------------------------------------------------


def report(results: list[dict]) -> None:
    database = results[0]["database"]
    print(f"Portal pages on {database}, client time in ms ({harness.machine()})\n")
    for result in results:
        print(
            f"N = {result['n']:,} certificates, {result['apis']:,} APIs, "
            f"{10 * result['n']:,} audit events (seeded in {result['seed_seconds']:.1f} s)"
        )
    print()
    small, large = results[0], results[-1]
    headers = ["Page", "Queries"]
    headers += [f"p50 N={result['n']:,}" for result in results]
    headers += [f"p95 N={large['n']:,}", "p50 ratio", "Targets met"]
    rows = []
    for index, first in enumerate(small["pages"]):
        pages = [result["pages"][index] for result in results]
        figures = [page["first_bytes"] if page["streamed"] else page for page in pages]
        label = first["page"] + (" (first bytes)" if first["streamed"] else "")
        counts = {page["queries"] for page in pages}
        ratio = figures[-1]["p50"] / figures[0]["p50"]
        met = len(counts) == 1 and ratio <= TARGET_RATIO and figures[-1]["p95"] <= TARGET_P95_MS
        queries = " / ".join("-" if q is None else str(q) for q in [p["queries"] for p in pages])
        rows.append(
            [label, queries]
            + [f"{figure['p50']:.1f}" for figure in figures]
            + [f"{figures[-1]['p95']:.1f}", f"{ratio:.2f}x", "yes" if met else "MISS"]
        )
    print(harness.table(headers, rows))
    print(
        f"\nTargets: the same query count at every N; p50 at N={large['n']:,} within "
        f"{TARGET_RATIO}x of N={small['n']:,}; p95 at N={large['n']:,} at most "
        f"{TARGET_P95_MS:.0f} ms. {large['pages'][0]['n']} samples a page and N. Exports are "
        "timed to their first bytes (their query count is not comparable)."
    )


if __name__ == "__main__":
    main()

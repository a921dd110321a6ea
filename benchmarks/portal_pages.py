"""Server time and SQL queries of the portal's pages, at N = 100 and N = 10,000 certificates.

    .venv/bin/python benchmarks/portal_pages.py                      # N = 100 and 10,000
    .venv/bin/python benchmarks/portal_pages.py --certificates 10000 # one N only

Each N lives in a process of its own, on a throwaway SQLite database under /tmp seeded with
`manage.py seed_inventory` (N certificates, N/5 APIs with 3 operations each, about half of them
presenting a certificate) and 50 backends (every other one with a backend credential), removed
at the end. Pages are requested with Django's test Client in-process, signed in as a member of
Administrators: the time is the server's work (URL routing, middleware, session, queries,
templates) without the network. The SQL queries of one request are counted with
CaptureQueriesContext.

Each page is requested `--warmup` times, then `--repeat` times timed, in `--rounds` rounds
that alternate between the processes: a burst of load from elsewhere on the machine then hits
every N alike instead of whichever happened to run at the time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import harness

TARGET_P95_MS = 50.0
TARGET_RATIO = 1.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument(
        "--apis", type=int, default=None, help="APIs to seed (default: a fifth of N)"
    )
    parser.add_argument("--operations-per-api", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sql", action="store_true", help="print the SQL of each page")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
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
                    page.setdefault("times", []).extend(child.ask("time", index, per_round))
                    if page["streamed"]:
                        times = child.ask("first_bytes", index, per_round)
                        page.setdefault("first_bytes_times", []).extend(times)
        for child in children:
            child.ask("check")
    finally:
        for child in children:
            child.close()
    for result in results:
        for page in result["pages"]:
            page.update(harness.summary(page["times"]))
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
    import logging

    # A 409 is what the "Certificate in use" page answers; Django logs every 4xx as a warning.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    apis = args.apis if args.apis is not None else max(1, n // 5)
    with harness.throwaway_portal(f"pages-{n}"):
        seed_seconds = harness.seed(n, apis, args.operations_per_api)
        harness.seed_backends(50)
        pages = Pages(n)
        answer(
            {
                "n": n,
                "apis": apis,
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

        used = Certificate.objects.filter(apis__isnull=False).order_by("name").first()
        api = Api.objects.filter(client_certificate__isnull=False).order_by("name").first()
        last_page = max(1, -(-n // 50))
        self.in_use = used.name
        self.pages = [
            ("Certificate list, page 1", "get", "/certificates/", 200),
            (
                f"Certificate list, page {last_page} (last)",
                "get",
                f"/certificates/?page={last_page}",
                200,
            ),
            # A filter whose first page is full at both N, so that both render 50 rows.
            (
                "Filtered list (valid, unused, by expiration)",
                "get",
                "/certificates/?status=valid&usage=unused&sort=expires",
                200,
            ),
            # One match at both N.
            ("Search (q=seed-000042)", "get", "/certificates/?q=seed-000042", 200),
            ("Certificate detail (used)", "get", used.get_absolute_url(), 200),
            ("Dashboard", "get", "/", 200),
            ("API Design page", "get", api.get_absolute_url(), 200),
            (
                "Certificate in use (POST delete, 409)",
                "post",
                f"/certificates/{used.name}/delete/",
                409,
            ),
            ("CSV export (whole inventory)", "get", "/certificates/export.csv", 200),
        ]
        self.client = Client(HTTP_HOST="127.0.0.1")
        self.client.force_login(
            harness.administrator(), backend="django.contrib.auth.backends.ModelBackend"
        )
        # The first request of a session renews it (portal.sessions): not part of any page.
        self.client.get("/")
        self.before = self._state()

    def request(self, index: int) -> bytes:
        _, method, url, expected = self.pages[index]
        response = getattr(self.client, method)(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if response.status_code != expected:
            raise RuntimeError(f"{method.upper()} {url} answered {response.status_code}")
        return body

    def _first_chunk(self, index: int) -> None:
        _, method, url, _ = self.pages[index]
        response = getattr(self.client, method)(url)
        next(iter(response.streaming_content))
        response.close()

    def describe(self, index: int) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        label, method, url, expected = self.pages[index]
        with CaptureQueriesContext(connection) as captured:
            response = getattr(self.client, method)(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        if response.status_code != expected:
            raise RuntimeError(f"{method.upper()} {url} answered {response.status_code}")
        return {
            "page": label,
            "url": f"{method.upper()} {url}",
            "status": response.status_code,
            "queries": len(captured),
            "sql": [query["sql"] for query in captured],
            "bytes": len(body),
            "streamed": response.streaming,
        }

    def warmup(self, index: int, count: int) -> None:
        for _ in range(count):
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
    print(f"Portal pages, server time in ms ({harness.machine()})\n")
    for result in results:
        print(
            f"N = {result['n']:,} certificates, {result['apis']:,} APIs "
            f"(seeded in {result['seed_seconds']:.1f} s)"
        )
    print()
    if len(results) < 2:
        rows = [
            [p["page"], p["status"], p["queries"], p["p50"], p["p95"], p["bytes"]]
            for p in results[0]["pages"]
        ]
        print(harness.table(["Page", "Status", "Queries", "p50", "p95", "Bytes"], rows))
        return
    small, large = results[0], results[-1]
    rows = []
    for a, b in zip(small["pages"], large["pages"], strict=True):
        ratio = b["p50"] / a["p50"]
        same = a["queries"] == b["queries"]
        met = same and ratio <= TARGET_RATIO and b["p95"] <= TARGET_P95_MS
        rows.append(
            [
                a["page"],
                f"{a['queries']} / {b['queries']}",
                f"{a['p50']:.1f} / {a['p95']:.1f}",
                f"{b['p50']:.1f} / {b['p95']:.1f}",
                f"{ratio:.2f}x",
                "yes" if met else "MISS",
            ]
        )
    n1, n2 = f"{small['n']:,}", f"{large['n']:,}"
    headers = [
        "Page",
        f"Queries N={n1} / {n2}",
        f"N={n1} p50 / p95",
        f"N={n2} p50 / p95",
        "p50 ratio",
        "Targets met",
    ]
    print(harness.table(headers, rows))
    for a, b in zip(small["pages"], large["pages"], strict=True):
        if a["streamed"]:
            print(
                f"\n{a['page']} is streamed: its first bytes come after "
                f"{a['first_bytes']['p50']:.1f} ms at N={n1} and {b['first_bytes']['p50']:.1f} ms "
                f"at N={n2} (p50); the whole answer is {a['bytes']:,} and {b['bytes']:,} bytes."
            )
    print(
        f"\nTargets: the same query count at both N; p50 at N={n2} within {TARGET_RATIO}x of "
        f"N={n1}; p95 at N={n2} at most {TARGET_P95_MS:.0f} ms. The blocked deletion left "
        "the inventory unchanged."
    )


if __name__ == "__main__":
    main()

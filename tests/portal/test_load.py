"""Several gunicorn workers on one SQLite file under concurrent uploads, edits and deletes.

Bounded in time and requests, loopback only. It asserts behaviour, not speed: no 5xx, no
"database is locked" reaching a user, and a consistent database afterwards.
"""

import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests import pki

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
THREADS = 6
SECONDS = 6
PASSWORD = "load test password 1"
IDS = [f"load-{n}" for n in range(4)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    data = tmp_path_factory.mktemp("load")
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(data),
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)  # this test is about SQLite under several workers
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"], ["ensure_admin"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError(server.stdout.read().decode(errors="replace"))
        time.sleep(0.2)
    yield base, data / "portal.sqlite3"
    server.terminate()
    server.wait(timeout=15)


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    client.get("/signin/")
    response = client.post(
        "/signin/",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    client.headers["Referer"] = base + "/"
    return client


def test_concurrent_changes_on_sqlite_never_fail_a_user(portal):
    base, database = portal
    setup = signed_in(base)
    for n in range(2):
        response = setup.post(
            "/apis/+add/",
            data={
                "display_name": f"Load {n}",
                "service_url": "https://127.0.0.1:1",
                "path": f"load{n}",
            },
        )
        assert response.status_code == 302
    ca = pki.make_ca("Load CA")
    files = [
        pki.make_pfx(pki.make_leaf(ca, f"load{n}.example.test", key_type="ec")) for n in range(12)
    ]
    problems, counts, lock = [], {}, threading.Lock()

    def note(kind, response):
        with lock:
            counts[kind] = counts.get(kind, 0) + 1
            if response.status_code >= 500 or "database is locked" in response.text:
                problems.append((kind, response.status_code, response.text[:300]))

    def upload(client, rng):
        name = rng.choice(IDS)
        response = client.post(
            "/certificates/+add/",
            data={"name": name, "password": pki.DEFAULT_PASSWORD, "replace": "on"},
            files={"certificate": ("c.pfx", rng.choice(files), "application/x-pkcs12")},
        )
        note("upload", response)

    def assign(client, rng):
        api = f"load-{rng.randrange(2)}"
        page = client.get(f"/apis/{api}/backend/")
        version = re.search(r'name="version" value="(\d+)"', page.text)
        if version is None:
            return note("assign-page", page)
        response = client.post(
            f"/apis/{api}/backend/",
            data={"kind": "certificate", "certificate": rng.choice(IDS), "version": version[1]},
        )
        note("assign", response)

    def unassign(client, rng):
        api = f"load-{rng.randrange(2)}"
        page = client.get(f"/apis/{api}/backend/")
        version = re.search(r'name="version" value="(\d+)"', page.text)
        if version is not None:
            note(
                "unassign",
                client.post(f"/apis/{api}/backend/", data={"kind": "none", "version": version[1]}),
            )

    def delete(client, rng):
        note("delete", client.post(f"/certificates/{rng.choice(IDS)}/delete/"))

    def browse(client, rng):
        note("browse", client.get(rng.choice(["/certificates/", "/apis/", "/", "/audit/"])))

    actions = [upload, upload, assign, unassign, delete, browse]

    def worker(seed):
        rng = random.Random(seed)
        client = signed_in(base)
        stop = time.monotonic() + SECONDS
        done = 0
        while time.monotonic() < stop and done < 400:
            rng.choice(actions)(client, rng)
            done += 1

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads)
    assert problems == []
    assert counts.get("upload", 0) > 5 and counts.get("assign", 0) > 5

    with sqlite3.connect(database) as connection:
        dangling = connection.execute(
            "SELECT a.name FROM apis_api a LEFT JOIN certificates_certificate c "
            "ON a.client_certificate_id = c.id "
            "WHERE a.client_certificate_id IS NOT NULL AND c.id IS NULL"
        ).fetchall()
        assert dangling == []
        for name, policy, certificate in connection.execute(
            "SELECT a.name, a.policy_xml, c.name FROM apis_api a "
            "LEFT JOIN certificates_certificate c ON a.client_certificate_id = c.id"
        ):
            if certificate is None:
                assert "authentication-certificate" not in policy, name
            else:
                assert f'certificate-id="{certificate}"' in policy, name
        versions = connection.execute(
            "SELECT name, version FROM certificates_certificate"
        ).fetchall()
        assert all(version >= 1 for _, version in versions)

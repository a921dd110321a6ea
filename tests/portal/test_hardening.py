"""Production settings: HTTPS, CSP, idle sessions, sign-in throttling, a database outage."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from audit.client_address import TrustedProxies
from audit.models import AuditEvent
from certificates.keystore import KeyRing
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def portal_env(data_dir, **extra) -> dict:
    """The environment of a portal process of its own: its data directory and SQLite database
    there (never the PostgreSQL database the suite may run on, which other tests share)."""
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), **extra}
    for name in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):  # that one is for browser tests
        env.pop(name, None)
    return env


def test_check_deploy_is_clean_with_https_and_a_real_secret_key(tmp_path):
    env = portal_env(
        tmp_path, PORTAL_HTTPS="true", DJANGO_SECRET_KEY="a-real-secret-" + "x7Q9z" * 12
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_bad_settings_stop_the_portal_with_a_clear_message(tmp_path):
    env = portal_env(tmp_path, PORTAL_HTTPS="maybe")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "PORTAL_HTTPS must be true or false" in result.stderr


@pytest.mark.parametrize("url", ["/", "/certificates/", "/apis/", "/backends/", "/audit/"])
def test_pages_carry_a_strict_csp_and_no_inline_code(admin_client, url):
    response = admin_client.get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers


def test_sessions_end_after_eight_idle_hours_by_default(admin_client, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_REFRESH_SECONDS == 60  # see tests/portal/test_auth.py
    response = admin_client.get("/")
    assert response.cookies["sessionid"]["max-age"] == 8 * 3600


def test_repeated_failures_lock_the_sign_in_and_are_audited(client, administrator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/signin/", {"username": "alice", "password": "wrong"})
    locked = client.post("/signin/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="sign-in-locked-out", object_id="alice").exists()
    assert AuditEvent.objects.filter(action="sign-in-failed").count() >= settings.AXES_FAILURE_LIMIT


def test_an_unreachable_database_answers_a_503_page(administrator):
    client = Client(raise_request_exception=False)
    client.force_login(administrator)

    def unreachable(self, *args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", unreachable)
        response = client.get("/certificates/")
    assert response.status_code == 503
    content = response.content.decode()
    assert "cannot reach its database" in content
    assert "Traceback" not in content
    assert "Connection refused" not in content


# The key ring against the stored secrets, at every server entry point (see certificates.keyring).

STORE_A_BASIC_PASSWORD = (
    "from apis import actions; "
    "api = actions.create_api(display_name='S', service_url='https://127.0.0.1:9', path='s'); "
    "actions.set_gateway_credentials(api, actions.GatewayCredentials("
    "kind='basic', username='svc', password='pw'), version=None)"
)


def run_portal(data_dir, *args, timeout=60):
    env = portal_env(data_dir)
    for name in ("PORTAL_KEYRING", "PORTAL_KEYRING_FILE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed_with_a_secret(tmp_path_factory):
    """A data directory as `make run` leaves it, with one Basic password stored."""
    data_dir = tmp_path_factory.mktemp("installed")
    for args in (
        ("manage.py", "migrate", "-v0"),
        ("manage.py", "shell", "-c", STORE_A_BASIC_PASSWORD),
    ):
        result = run_portal(data_dir, *args)
        assert result.returncode == 0, result.stderr
    return data_dir


@pytest.fixture
def installed(installed_with_a_secret, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(installed_with_a_secret, copy)
    return copy


def refusals(data_dir):
    """What the WSGI entry point, gunicorn and a manage.py command say at start."""
    wsgi = run_portal(data_dir, "-c", "import portal.wsgi")
    gunicorn = run_portal(
        data_dir,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--no-control-socket",
    )
    command = run_portal(data_dir, "manage.py", "rotate_keyring")
    return wsgi, gunicorn, command


def test_a_fresh_install_generates_a_key_ring(tmp_path):
    result = run_portal(tmp_path, "manage.py", "migrate", "-v0")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "keyring").stat().st_mode & 0o777 == 0o600
    result = run_portal(tmp_path, "-c", "import portal.wsgi")
    assert result.returncode == 0, result.stderr


def test_a_missing_key_ring_with_stored_secrets_stops_the_portal(installed):
    (installed / "keyring").unlink()
    for result in refusals(installed):
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "stored secrets cannot be decrypted with the configured key ring" in output
        assert "1 Basic password(s) are encrypted under key" in output
        assert f"put it back in {installed / 'keyring'}" in output


def test_a_replaced_key_ring_stops_the_portal(installed):
    path = installed / "keyring"
    key_id = path.read_text().split(":")[0]
    path.write_text(KeyRing.generate_entry(key_id) + "\n")
    for result in refusals(installed):
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "not the one the stored secrets were written under" in output
        assert "PORTAL_KEYRING_FILE" in output


def test_the_ring_the_secrets_were_written_under_starts(installed):
    result = run_portal(installed, "-c", "import portal.wsgi")
    assert result.returncode == 0, result.stderr
    result = run_portal(installed, "manage.py", "rotate_keyring")
    assert result.returncode == 0, result.stderr
    assert "0 Basic password(s) re-encrypted" in result.stdout


# Sign-in throttling and the audit trail behind a load balancer (PORTAL_TRUSTED_PROXIES).

BALANCER = "10.0.0.2"


def sign_in(client, password, real_address, spoofed="attacker-chosen"):
    """A sign-in through the balancer, which appends the address it saw to X-Forwarded-For."""
    return client.post(
        "/signin/",
        {"username": "alice", "password": password},
        REMOTE_ADDR=BALANCER,
        HTTP_X_FORWARDED_FOR=f"{spoofed}, {real_address}",
    )


def test_behind_a_trusted_proxy_failures_lock_only_the_real_address(administrator, settings):
    settings.PORTAL_TRUSTED_PROXIES = TrustedProxies.parse("1")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # Changing the part of the header the client writes does not escape the count.
        sign_in(Client(), "wrong", "203.0.113.5", spoofed=f"198.51.100.{attempt}")
    assert sign_in(Client(), PASSWORD, "203.0.113.5").status_code == 429
    # Everybody else behind the same balancer still signs in.
    other = Client()
    assert sign_in(other, PASSWORD, "203.0.113.77").status_code == 302
    assert "_auth_user_id" in other.session

    failed = AuditEvent.objects.filter(action="sign-in-failed")
    assert set(failed.values_list("source_address", flat=True)) == {"203.0.113.5"}
    locked = AuditEvent.objects.filter(action="sign-in-locked-out")
    assert set(locked.values_list("source_address", flat=True)) == {"203.0.113.5"}
    signed_in = AuditEvent.objects.get(action="sign-in")
    assert signed_in.source_address == "203.0.113.77"


def test_without_a_trusted_proxy_a_forwarded_for_header_changes_nothing(administrator, settings):
    assert TrustedProxies() == settings.PORTAL_TRUSTED_PROXIES
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), "wrong", f"203.0.113.{attempt}")
    # The peer is what counts: the balancer's address is locked out whatever the header says.
    assert sign_in(Client(), PASSWORD, "203.0.113.200").status_code == 429
    addresses = AuditEvent.objects.filter(action__startswith="sign-in").values_list(
        "source_address", flat=True
    )
    assert set(addresses) == {BALANCER}


# Bodies before sign-in (portal.anonymous_body_limit).

BIG = 58 * 1024 * 1024


CSRF_SECRET = "a" * 32


class WatchedInput:
    """A multipart body with one file part of `size` bytes, that records how much was read."""

    HEAD = (
        b'--BoUnDaRy\r\nContent-Disposition: form-data; name="certificate"; '
        b'filename="a.pfx"\r\nContent-Type: application/x-pkcs12\r\n\r\n'
    )
    TAIL = b"\r\n--BoUnDaRy--\r\n"

    def __init__(self, size: int):
        self.size = len(self.HEAD) + size + len(self.TAIL)
        self.read_bytes = 0

    def _byte(self, position: int) -> bytes:
        if position < len(self.HEAD):
            return self.HEAD[position : position + 1]
        if position >= self.size - len(self.TAIL):
            offset = position - (self.size - len(self.TAIL))
            return self.TAIL[offset : offset + 1]
        return b"x"

    def read(self, size=-1):
        size = self.size - self.read_bytes if size is None or size < 0 else size
        size = min(size, self.size - self.read_bytes)
        start, self.read_bytes = self.read_bytes, self.read_bytes + size
        middle_start, middle_end = len(self.HEAD), self.size - len(self.TAIL)
        if middle_start <= start and start + size <= middle_end:
            return b"x" * size
        return b"".join(self._byte(position) for position in range(start, start + size))

    def readline(self, size=-1):
        return self.read(size)


def send(path, body: WatchedInput, *, chunked=False, cookies="", **extra):
    """One request through the whole middleware stack, as a WSGI server hands it over, with a
    valid CSRF cookie and header."""
    from django.test import RequestFactory
    from django.test.client import ClientHandler

    environ = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="POST",
        CONTENT_TYPE="multipart/form-data; boundary=BoUnDaRy",
        HTTP_COOKIE=f"csrftoken={CSRF_SECRET}; {cookies}",
        HTTP_X_CSRFTOKEN=CSRF_SECRET,
        **extra,
    )
    environ["wsgi.input"] = body
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    return ClientHandler(enforce_csrf_checks=True)(environ)


@pytest.mark.django_db
@pytest.mark.parametrize("chunked", [False, True])
def test_an_anonymous_large_body_is_refused_before_it_is_read(chunked):
    body = WatchedInput(BIG)
    answer = send("/signin/", body, chunked=chunked)
    assert answer.status_code == 413
    assert b"before signing in, at most 65536 bytes" in answer.content
    assert body.read_bytes == 0


@pytest.mark.django_db
def test_an_anonymous_small_body_is_read_as_usual():
    body = WatchedInput(1000)
    answer = send("/signin/", body)
    assert answer.status_code == 200  # the sign-in form, with its errors
    assert body.read_bytes == body.size


def test_a_signed_in_administrator_keeps_the_upload_limits(administrator):
    from django.contrib.auth import SESSION_KEY

    client = Client()
    client.force_login(administrator)
    session_cookie = client.cookies["sessionid"].value
    body = WatchedInput(BIG)
    answer = send("/certificates/+add/", body, cookies=f"sessionid={session_cookie}")
    assert answer.status_code == 200
    assert b"The file is 59392 KiB; a certificate file is at most" in answer.content
    assert body.read_bytes == body.size  # read (and counted) by the upload handler, not kept
    assert SESSION_KEY in client.session


def test_a_valid_api_token_uploads_a_large_body_a_wrong_one_does_not(administrator):
    import json

    from accounts.tokens import issue_token
    from tests import pki
    from tests.rest.conftest import b64

    _, token = issue_token(administrator, "uploads")
    leaf = pki.make_leaf(pki.make_ca(), "large.example.test")
    body = {"properties": {"data": b64(pki.make_pfx(leaf)), "password": pki.DEFAULT_PASSWORD}}
    padded = json.dumps(body) + " " * (70 * 1024)  # JSON allows trailing whitespace
    client = Client()

    def put(token):
        return client.put(
            "/api/certificates/large",
            padded,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )

    wrong = put("cpt_wrong")
    assert wrong.status_code == 413
    assert wrong.json()["error"]["code"] == "RequestBodyTooLarge"
    assert put(token).status_code == 201


def test_an_anonymous_58_mb_post_does_not_grow_a_gunicorn_worker(tmp_path):
    """The measurement behind the limit: before it, this POST raised the worker's peak memory
    by 50 MiB (100 file parts of 580 KiB, each kept up to FILE_UPLOAD_MAX_MEMORY_SIZE)."""
    import http.client
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = portal_env(tmp_path)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "2",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # until the worker has loaded the portal and answers
            try:
                warm_up = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                warm_up.request("POST", "/signin/", body=b"x" * 1000)
                warm_up.getresponse().read()
                break
            except OSError:
                time.sleep(0.05)
        workers = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        for _ in range(200):
            if workers.read_text().split():
                break
            time.sleep(0.05)
        worker = workers.read_text().split()[0]

        def peak_mib():
            status = Path(f"/proc/{worker}/status").read_text()
            return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024

        part = b"x" * (580 * 1024)
        parts = [
            f'--B\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}"\r\n\r\n'.encode()
            + part
            + b"\r\n"
            for i in range(100)
        ]
        # Anybody gets a CSRF cookie from the sign-in page; with it the form would be read.
        csrf = '--B\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        parts = [f"{csrf}{CSRF_SECRET}\r\n".encode(), *parts, b"--B--\r\n"]
        before = peak_mib()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.putrequest("POST", "/signin/")
        connection.putheader("Content-Type", "multipart/form-data; boundary=B")
        connection.putheader("Content-Length", str(sum(map(len, parts))))
        connection.putheader("Cookie", f"csrftoken={CSRF_SECRET}")
        connection.endheaders()
        try:
            for chunk in parts:
                connection.send(chunk)
        except OSError:
            pass  # the server answered and closed without reading the body
        response = connection.getresponse()
        answer = response.read()
        assert peak_mib() - before < 5
        assert response.status == 413
        assert b"before signing in" in answer
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_signed_in_caller_may_send_its_own_authorization_header_with_a_large_body(
    admin_client,
):
    response = admin_client.post(
        "/apis/+add/",
        b"x" * (100 * 1024),
        content_type="application/octet-stream",
        headers={"Authorization": "Bearer the-back-ends-own-token"},
    )
    assert response.status_code != 413

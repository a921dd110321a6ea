"""A file that asks for too much work is refused on the pages, REST and the command line, and a
served portal keeps answering while such files are uploaded at once."""

import base64
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command

from accounts.tokens import issue_token
from audit.models import AuditEvent
from certificates import parsing
from certificates.models import Certificate
from certificates.upload_errors import UploadError
from tests import crafted_pfx, pki
from tests.rest.conftest import ApiClient, error_of

PASSWORD = pki.DEFAULT_PASSWORD
TOO_MUCH_WORK = "This file asks for too much work to open"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hostile(leaf):
    """2.5 KB: a protected key in an encrypted part, asking for 2^31-1 iterations (minutes)."""
    return crafted_pfx.make_pfx_with_key_in_encrypted_part(leaf, 2**31 - 1)


@pytest.fixture(autouse=True)
def short_limit(settings):
    settings.PORTAL_UPLOAD_PARSE_SECONDS = 1


def rest_body(data: bytes) -> dict:
    properties = {"data": base64.b64encode(data).decode(), "password": pki.DEFAULT_PASSWORD}
    return {"properties": properties}


def assert_nothing_stored():
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="certificate").exists()


@pytest.mark.django_db
def test_the_upload_page_says_so_on_the_file_field(upload, hostile):
    started = time.monotonic()
    response = upload(hostile)
    assert time.monotonic() - started < 1 + 5  # the limit, and a helper's start on a busy machine
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["certificate"])
    assert errors.startswith(TOO_MUCH_WORK)
    assert_nothing_stored()


@pytest.mark.django_db
def test_rest_answers_400_with_the_error_envelope(administrator, hostile):
    api = ApiClient(issue_token(administrator, "tests")[1])
    response = api.put("/certificates/hostile", rest_body(hostile))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidCertificate"
    assert error["message"].startswith(TOO_MUCH_WORK)
    assert error["details"][0]["code"] == "too_much_work"
    assert error["details"][0]["target"] == "properties.data"
    assert_nothing_stored()


@pytest.mark.django_db
def test_rest_answers_429_when_every_helper_is_busy(
    administrator, hostile, leaf, monkeypatch, settings
):
    settings.PORTAL_UPLOAD_PARSE_HELPERS = 1
    pool = parsing._Pool()
    monkeypatch.setattr(parsing, "_pool", lambda: pool)
    hog = threading.Thread(
        target=pytest.raises,
        args=(
            UploadError,
            pool.run,
            parsing.Limits(seconds=3, helpers=1),
            "pfx",
            hostile,
            PASSWORD,
        ),
    )
    hog.start()
    try:
        time.sleep(0.5)
        api = ApiClient(issue_token(administrator, "tests")[1])
        response = api.put("/certificates/orders", rest_body(pki.make_pfx(leaf)))
        assert response.status_code == 429
        error = error_of(response)
        assert error["code"] == "TooManyRequests"
        assert error["details"][0]["code"] == "busy"
        assert "try again in a moment" in error["message"]
        assert_nothing_stored()
    finally:
        hog.join()
        pool.close()


@pytest.mark.django_db
def test_the_import_command_fails_with_the_message(monkeypatch, tmp_path, hostile):
    path = tmp_path / "hostile.pfx"
    path.write_bytes(hostile)
    monkeypatch.setattr("sys.stdin", io.StringIO(pki.DEFAULT_PASSWORD + "\n"))
    with pytest.raises(CommandError, match=TOO_MUCH_WORK):
        call_command(
            "certificates",
            "import",
            *("--id", "hostile", "--file", str(path), "--password-stdin"),
            stdout=io.StringIO(),
        )
    assert_nothing_stored()


def test_manage_py_exits_non_zero_within_the_limit(tmp_path, hostile):
    path = tmp_path / "hostile.pfx"
    path.write_bytes(hostile)
    environment = {
        **os.environ,
        "PORTAL_DATA_DIR": str(tmp_path / "data"),
        "PORTAL_UPLOAD_PARSE_SECONDS": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    for name in ("DATABASE_URL", "PORTAL_KEYRING", "DJANGO_SECRET_KEY"):
        environment.pop(name, None)
    command = [sys.executable, "manage.py", "certificates", "import", "--id", "hostile"]
    result = subprocess.run(
        [*command, "--file", str(path), "--password-stdin"],
        cwd=ROOT,
        env=environment,
        input=pki.DEFAULT_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert TOO_MUCH_WORK in result.stderr
    assert pki.DEFAULT_PASSWORD not in result.stderr + result.stdout


@pytest.mark.django_db(transaction=True)
def test_a_served_portal_keeps_answering_while_three_are_uploaded_at_once(
    live_server, administrator, hostile, settings
):
    settings.PORTAL_UPLOAD_PARSE_SECONDS = 2
    token = issue_token(administrator, "tests")[1]
    body = rest_body(hostile)
    answers = []

    def upload(number):
        started = time.monotonic()
        response = httpx.put(
            f"{live_server.url}/api/certificates/hostile-{number}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        answers.append((response, time.monotonic() - started))

    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        uploads = [threading.Thread(target=upload, args=(n,)) for n in range(3)]
        for thread in uploads:
            thread.start()
        health = []
        while any(thread.is_alive() for thread in uploads):
            started = time.monotonic()
            response = client.get("/healthz")
            health.append((response.status_code, time.monotonic() - started))
            time.sleep(0.1)
        for thread in uploads:
            thread.join()

    assert len(health) >= 10  # the uploads took seconds, and /healthz answered all along
    assert {status for status, _ in health} == {200}
    # Well under a second, even on a busy machine; before, one such file held a worker for minutes.
    latencies = sorted(seconds for _, seconds in health)
    assert latencies[len(latencies) // 2] < 0.25
    assert latencies[-1] < 1
    for response, seconds in answers:
        # Each answered within the limit, plus at most a second's wait for a free helper and a
        # helper's start on a busy machine: never queued forever.
        assert seconds < 2 + 1 + 5
        error = response.json()["error"]
        assert (response.status_code, error["details"][0]["code"]) in {
            (400, "too_much_work"),
            (429, "busy"),
        }
    assert any(response.status_code == 400 for response, _ in answers)
    assert_nothing_stored()

"""Production settings: HTTPS, CSP, idle sessions, sign-in throttling, a database outage."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from audit.models import AuditEvent
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_https_and_a_real_secret_key(tmp_path):
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(tmp_path),
        "PORTAL_HTTPS": "true",
        "DJANGO_SECRET_KEY": "a-real-secret-" + "x7Q9z" * 12,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
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
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path), "PORTAL_HTTPS": "maybe"}
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

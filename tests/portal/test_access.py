"""Every page requires sign-in, and the roles decide what a signed-in user may do."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEvent

PUBLIC = {"/signin/", "/healthz", "/admin/login/", "/favicon.ico"}


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def concrete(route: str) -> str:
    # Fill converters and regex groups with a plausible value; the point is the answer code.
    import re

    route = re.sub(r"<(?:\w+:)?\w+>", "x", route)
    route = re.sub(r"\(\?P<fmt>[^)]*\)", "pem", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    route = route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + route


@pytest.mark.django_db
def test_no_page_answers_an_anonymous_visitor(client):
    routes = sorted({concrete(route) for route in walk(get_resolver().url_patterns)})
    assert len(routes) > 10
    for url in routes:
        if url in PUBLIC or url.startswith("/static/"):
            continue
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code != 200, url
            if response.status_code == 302:
                assert (
                    response["Location"].startswith("/signin/") or "login" in response["Location"]
                ), url


@pytest.mark.django_db
def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_fails(client, monkeypatch):
    from django.db import DatabaseError
    from django.db.backends.utils import CursorWrapper

    def broken(self, *args, **kwargs):
        raise DatabaseError("gone")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert b"Traceback" not in response.content


def test_signin_page_is_public(client, db):
    response = client.get("/signin/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_an_outsider_sees_nothing(outsider_client):
    assert outsider_client.get("/certificates/").status_code == 403
    assert outsider_client.get("/audit/").status_code == 403
    home = outsider_client.get("/")
    assert b"You have no role yet" in home.content


def test_a_reviewer_reads_but_cannot_change(reviewer_client):
    assert reviewer_client.get("/certificates/").status_code == 200
    assert reviewer_client.get("/ca-certificates/").status_code == 200
    assert reviewer_client.get("/certificates/+add/").status_code == 403
    response = reviewer_client.post("/certificates/+add/", {"name": "x"})
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="change-refused")
    assert event.actor_name == "rita"
    assert event.object_id == "/certificates/+add/"


def test_the_navigation_lists_every_section(admin_client):
    content = admin_client.get("/").content.decode()
    for label in ("APIs", "Backends", "Client certificates", "CA certificates", "Audit log"):
        assert f">{label}</a>" in content
    assert "Sign out" in content


def test_sign_in_and_failure_are_audited(client, administrator):
    from tests.conftest import PASSWORD

    client.post("/signin/", {"username": "alice", "password": "wrong"})
    client.post("/signin/", {"username": "alice", "password": PASSWORD})
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "object_id"))
    assert actions == [("sign-in-failed", "alice"), ("sign-in", "alice")]


def test_the_body_carries_the_csrf_token_for_htmx(admin_client):
    content = admin_client.get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in content
    assert "/static/django_htmx/htmx-2.min.js" in content or "htmx" in content

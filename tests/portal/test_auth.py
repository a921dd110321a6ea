"""Django's model backend sees role changes on the next request; sessions are refreshed at most
once a minute while they are used."""

import time

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import REVIEWERS
from portal.sessions import REFRESHED_AT


def fresh(user):
    """The user as the next request would load it: no permission cache."""
    return User.objects.get(pk=user.pk)


def permission(codename):
    return Permission.objects.get(codename=codename)


@pytest.fixture
def mixed(reviewer):
    """A reviewer with one permission of their own besides their group's."""
    reviewer.user_permissions.add(permission("call_api"))
    return reviewer


def test_a_change_of_role_is_seen_by_the_next_request(mixed):
    assert fresh(mixed).has_perm("certificates.view_certificate")
    Group.objects.get(name=REVIEWERS).permissions.remove(permission("view_certificate"))
    assert not fresh(mixed).has_perm("certificates.view_certificate")
    mixed.user_permissions.remove(permission("call_api"))
    assert not fresh(mixed).has_perm("apis.call_api")


# Sessions --------------------------------------------------------------------------------


def stored(client) -> dict:
    return Session.objects.get(session_key=client.cookies["sessionid"].value).get_decoded()


def age_session(client, seconds):
    """Pretend the session was last written `seconds` ago."""
    session = client.session
    session[REFRESHED_AT] = int(time.time()) - seconds
    session.save()


def session_writes(captured) -> list[str]:
    updates = [query["sql"] for query in captured if query["sql"].startswith("UPDATE")]
    return [sql for sql in updates if "django_session" in sql]


def test_a_session_used_within_a_minute_is_not_written_again(admin_client):
    age_session(admin_client, 5)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/certificates/")
    assert response.status_code == 200
    assert session_writes(captured) == []
    assert "sessionid" not in response.cookies


def test_a_session_used_after_a_minute_is_renewed_with_its_cookie(admin_client, settings):
    age_session(admin_client, settings.SESSION_REFRESH_SECONDS + 1)
    before = Session.objects.get(session_key=admin_client.cookies["sessionid"].value).expire_date
    time.sleep(1)  # expiry dates have a resolution of a second
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/certificates/")
    assert len(session_writes(captured)) == 1
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE
    session = Session.objects.get(session_key=admin_client.cookies["sessionid"].value)
    assert session.expire_date > before
    assert stored(admin_client)[REFRESHED_AT] >= int(time.time()) - 2


def test_a_short_idle_timeout_is_renewed_well_before_it_ends(admin_client, settings):
    settings.SESSION_COOKIE_AGE = 60
    age_session(admin_client, 7)  # over a tenth of the timeout, under SESSION_REFRESH_SECONDS
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get("/certificates/")
    assert len(session_writes(captured)) == 1
    assert response.cookies["sessionid"]["max-age"] == 60


def test_signing_in_starts_the_refresh_clock(client, administrator):
    from tests.conftest import PASSWORD

    client.get("/signin/")
    client.post("/signin/", {"username": administrator.username, "password": PASSWORD})
    assert stored(client)[REFRESHED_AT] >= int(time.time()) - 2


def test_an_anonymous_visit_makes_no_session(client, db):
    response = client.get("/signin/")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()

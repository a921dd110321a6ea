"""The permission backend gives Django's answers in one query; sessions are refreshed at most
once a minute while they are used."""

import time

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.auth import PermissionBackend
from portal.roles import REVIEWERS
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


@pytest.mark.parametrize("who", ["administrator", "reviewer", "outsider", "mixed"])
def test_the_same_permissions_as_djangos_backend(request, who):
    user = request.getfixturevalue(who)
    expected = ModelBackend().get_all_permissions(fresh(user))
    assert PermissionBackend().get_all_permissions(fresh(user)) == expected
    if who != "outsider":
        assert expected  # the comparison is not between two empty sets


def test_a_superuser_has_every_permission(db):
    admin = User.objects.create_superuser("root", password="x" * 20)
    assert len(PermissionBackend().get_all_permissions(fresh(admin))) == Permission.objects.count()


def test_an_inactive_user_has_none(mixed):
    mixed.is_active = False
    mixed.save()
    assert PermissionBackend().get_all_permissions(fresh(mixed)) == set()


def test_one_query_then_none_within_the_request(mixed):
    user = fresh(mixed)
    with CaptureQueriesContext(connection) as captured:
        assert user.has_perm("apis.call_api")
        assert user.has_perm("certificates.view_certificate")
        assert not user.has_perm("certificates.delete_certificate")
    assert len(captured) == 1


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


# The hand-written statements -------------------------------------------------------------


def test_names_are_quoted_from_the_models():
    from portal import rawsql

    statement = rawsql.sql(
        "SELECT {user}.* FROM {user} WHERE {user.id} IN ({ids}) AND {user.is_active} = %s",
        user=User,
        ids=3,
    )
    assert statement == (
        'SELECT "auth_user".* FROM "auth_user" WHERE "auth_user"."id" IN (%s, %s, %s) '
        'AND "auth_user"."is_active" = %s'
    )


def test_the_user_is_read_as_the_orm_reads_it(mixed):
    from portal.auth import load_user

    loaded = load_user(mixed.pk)
    expected = User.objects.get(pk=mixed.pk)
    for field in User._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert loaded.date_joined.tzinfo is not None
    assert load_user(mixed.pk + 1000) is None


def test_an_inactive_users_session_signs_nobody_in(mixed):
    assert PermissionBackend().get_user(mixed.pk) == mixed
    mixed.is_active = False
    mixed.save()
    assert PermissionBackend().get_user(mixed.pk) is None


def test_sessions_are_read_unless_expired_or_unknown(db):
    from datetime import timedelta

    from django.utils import timezone

    from portal.sessions import SessionStore

    store = SessionStore()
    store["answer"] = 42
    store.save()
    assert SessionStore(store.session_key).load() == {"answer": 42}
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert SessionStore("x" * 32).load() == {}

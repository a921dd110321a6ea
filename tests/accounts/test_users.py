"""The Users page: administrators only; every change audited; never leaves no administrator."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from accounts.roles import ADMINISTRATORS, REVIEWERS, role_of
from audit.models import Action, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # Many sign-ins below; the hasher's cost is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def lock_out(settings, username):
    client = Client()  # the fixtures' client may be signed in already
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/signin/", {"username": username, "password": "wrong"})


def events(action):
    return list(AuditEvent.objects.filter(action=action))


def test_reviewers_get_403_and_no_link(reviewer_client):
    assert b'href="/users/"' not in reviewer_client.get("/").content
    for url in ("/users/", "/users/add/", "/users/rita/"):
        assert reviewer_client.get(url).status_code == 403
    response = reviewer_client.post("/users/add/", {"username": "eve", "role": "administrator"})
    assert response.status_code == 403
    assert not User.objects.filter(username="eve").exists()
    assert reviewer_client.post("/users/rita/role/", {"role": "administrator"}).status_code == 403
    assert role_of(User.objects.get(username="rita")) == REVIEWERS


def test_the_list_shows_role_last_sign_in_active_and_lockout(admin_client, reviewer, settings):
    lock_out(settings, "rita")
    User.objects.create_user("gone", is_active=False)
    response = admin_client.get("/users/")
    assert response.status_code == 200
    assert b'href="/users/"' in response.content  # the navigation links to it
    rows = {row["user"].username: row for row in response.context["rows"]}
    assert rows["alice"]["role"] == "Administrator"
    assert rows["rita"]["role"] == "Reviewer"
    assert rows["rita"]["locked_out"] is True
    assert rows["alice"]["locked_out"] is False
    assert rows["gone"]["role"] == "No role"
    html = response.content.decode()
    assert "More actions for rita" in html and "More actions for gone" in html
    assert "Deactivated" in html and "Locked out" in html


def test_adding_a_user_shows_a_one_time_password_once_and_audits(admin_client):
    response = admin_client.post(
        "/users/add/", {"username": "bob", "email": "bob@example.com", "role": "reviewer"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["password"]
    assert password in response.content.decode()
    bob = User.objects.get(username="bob")
    assert role_of(bob) == REVIEWERS
    assert bob.check_password(password)
    (event,) = events(Action.USER_CREATED)
    assert event.object_id == "bob" and event.actor_name == "alice"
    assert event.after["role"] == "Reviewer"
    assert password not in str(event.after) + event.message

    # The first sign-in leads to Django's password change, and nowhere else until it is done.
    client = Client()
    client.post("/signin/", {"username": "bob", "password": password})
    assert client.get("/certificates/").url == "/password/"
    assert client.get("/password/").status_code == 200
    changed = client.post(
        "/password/",
        {"old_password": password, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert changed.status_code == 302
    assert client.get("/certificates/").status_code == 200
    assert events(Action.PASSWORD_SET)[0].actor_name == "bob"
    client.logout()
    client.post("/signin/", {"username": "bob", "password": PASSWORD})
    assert client.get("/certificates/").status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "", "role": "reviewer"}, "This field is required."),
        ({"username": "ALICE", "role": "reviewer"}, "A user with this username exists already."),
        ({"username": "a b", "role": "reviewer"}, "Enter a valid username."),
        ({"username": "carol", "role": "owner"}, "Select a valid choice."),
        ({"username": "carol", "role": "reviewer", "email": "no"}, "Enter a valid email"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(admin_client, data, message):
    response = admin_client.post("/users/add/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 1
    assert not events(Action.USER_CREATED)


def test_role_change_is_audited_and_a_no_op_is_not(admin_client, reviewer):
    response = admin_client.post("/users/rita/role/", {"role": "administrator"})
    assert response.status_code == 302
    assert role_of(User.objects.get(username="rita")) == ADMINISTRATORS
    (event,) = events(Action.ROLE_GRANTED)
    assert (event.before, event.after) == ({"role": "Reviewer"}, {"role": "Administrator"})
    admin_client.post("/users/rita/role/", {"role": "administrator"})
    assert len(events(Action.ROLE_GRANTED)) == 1
    assert admin_client.post("/users/rita/role/", {"role": "boss"}).status_code == 400


def test_the_last_administrator_cannot_demote_or_deactivate_themselves(admin_client):
    response = admin_client.post("/users/alice/role/", {"role": "reviewer"}, follow=True)
    assert "the only active administrator" in response.content.decode()
    response = admin_client.post("/users/alice/deactivate/", follow=True)
    assert "the only active administrator" in response.content.decode()
    alice = User.objects.get(username="alice")
    assert alice.is_active and role_of(alice) == ADMINISTRATORS
    assert not events(Action.ROLE_GRANTED) and not events(Action.USER_DEACTIVATED)


def test_with_another_administrator_one_can_step_down(admin_client, reviewer):
    admin_client.post("/users/rita/role/", {"role": "administrator"})
    admin_client.post("/users/alice/role/", {"role": "reviewer"})
    assert role_of(User.objects.get(username="alice")) == REVIEWERS
    # ... and is now a reviewer, refused by the server.
    assert admin_client.get("/users/").status_code == 403


def test_a_superuser_demoted_stops_being_an_administrator(admin_client):
    User.objects.create_superuser("root", password=PASSWORD)
    admin_client.post("/users/root/role/", {"role": "reviewer"})
    root = User.objects.get(username="root")
    assert not root.is_superuser and role_of(root) == REVIEWERS


def test_deactivate_reactivate_and_unlock(admin_client, reviewer, settings):
    client = Client()
    lock_out(settings, "rita")
    assert client.post("/signin/", {"username": "rita", "password": PASSWORD}).status_code == 429
    admin_client.post("/users/rita/unlock/")
    assert events(Action.USER_UNLOCKED)[0].object_id == "rita"
    admin_client.post("/users/rita/unlock/")  # nothing left to unlock: nothing recorded
    assert len(events(Action.USER_UNLOCKED)) == 1
    assert client.post("/signin/", {"username": "rita", "password": PASSWORD}).status_code == 302
    client.logout()

    admin_client.post("/users/rita/deactivate/")
    assert not User.objects.get(username="rita").is_active
    assert client.post("/signin/", {"username": "rita", "password": PASSWORD}).status_code == 200
    admin_client.post("/users/rita/reactivate/")
    assert User.objects.get(username="rita").is_active
    assert len(events(Action.USER_DEACTIVATED)) == len(events(Action.USER_REACTIVATED)) == 1


def test_a_new_one_time_password(admin_client, reviewer):
    response = admin_client.post("/users/rita/password/")
    password = response.context["password"]
    assert User.objects.get(username="rita").check_password(password)
    assert events(Action.PASSWORD_SET)[0].object_id == "rita"


def test_the_lockout_page_says_minutes_and_who_unlocks(client, administrator, settings):
    lock_out(settings, "alice")
    html = client.post("/signin/", {"username": "alice", "password": PASSWORD}).content.decode()
    assert "15 minutes" in html and "PT15M" not in html
    assert "administrator" in html and "Users page" in html


def test_the_role_command_is_audited(reviewer):
    call_command("role", "rita", "administrator")
    (event,) = events(Action.ROLE_GRANTED)
    assert event.actor_name == "manage.py" and event.after == {"role": "Administrator"}

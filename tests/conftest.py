import os

import pytest
from django.contrib.auth.models import Group, User

from accounts.roles import ADMINISTRATORS, REVIEWERS

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# there unless told it is safe (the live server answers from its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # The manifest storage needs collectstatic; tests serve static files from the sources.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(username, group=None):
    user = User.objects.create_user(username=username, password=PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def administrator(db):
    return _user("alice", ADMINISTRATORS)


@pytest.fixture
def reviewer(db):
    return _user("rita", REVIEWERS)


@pytest.fixture
def outsider(db):
    return _user("oscar")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


def pytest_collection_modifyitems(items):
    # Everything under tests/e2e/ drives a browser: `-m e2e` selects it, `-m "not e2e"` leaves it.
    for item in items:
        if item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)

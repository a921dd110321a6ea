"""Django's admin shows users, roles and tokens but changes none: the audited pages do."""

import pytest
from django.contrib.auth.models import Group, User

pytestmark = pytest.mark.django_db


def test_the_admin_reads_users_and_roles_but_changes_nothing(client, administrator):
    superuser = User.objects.create_superuser("root", password="x" * 20)
    client.force_login(superuser)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get(f"/admin/auth/user/{administrator.pk}/change/").status_code == 200
    client.post(f"/admin/auth/user/{administrator.pk}/change/", {"username": "mallory"})
    assert User.objects.filter(username="alice").exists()
    assert (
        client.post(f"/admin/auth/user/{administrator.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/auth/user/add/").status_code == 403
    assert (
        client.post(
            f"/admin/auth/group/{Group.objects.get(name='Reviewers').pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Group.objects.filter(name="Reviewers").exists()

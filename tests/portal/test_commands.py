import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.roles import ADMINISTRATORS, REVIEWERS, role_of


@pytest.mark.django_db
def test_role_gives_and_takes_roles(outsider):
    call_command("role", "oscar", "reviewer")
    assert role_of(outsider) == REVIEWERS
    call_command("role", "oscar", "administrator")
    assert role_of(outsider) == ADMINISTRATORS
    assert list(outsider.groups.values_list("name", flat=True)) == [ADMINISTRATORS]
    call_command("role", "oscar", "none")
    assert role_of(outsider) is None


@pytest.mark.django_db
def test_role_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        call_command("role", "nobody", "reviewer")


@pytest.mark.django_db
def test_ensure_admin_creates_the_first_administrator_once(monkeypatch, capsys):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    call_command("ensure_admin")
    printed = capsys.readouterr().out
    admin = User.objects.get(username="admin")
    password = printed.split("Password: ")[1].split()[0]
    assert admin.check_password(password)
    assert role_of(admin) == ADMINISTRATORS
    assert admin.profile.must_change_password  # printed once: changed at the first sign-in
    call_command("ensure_admin")
    assert capsys.readouterr().out == ""
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_ensure_admin_takes_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root-admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "given password 123")
    call_command("ensure_admin")
    assert "given password" not in capsys.readouterr().out
    given = User.objects.get(username="root-admin")
    assert given.check_password("given password 123")
    assert not hasattr(given, "profile") or not given.profile.must_change_password


@pytest.mark.django_db
def test_roles_have_the_right_permissions(administrator, reviewer):
    assert administrator.has_perm("certificates.delete_certificate")
    assert not administrator.has_perm("audit.delete_auditevent")
    assert reviewer.has_perm("certificates.view_certificate")
    assert reviewer.has_perm("audit.view_auditevent")
    assert not reviewer.has_perm("certificates.add_certificate")

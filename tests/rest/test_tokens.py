"""API tokens: stored hashed, created and revoked on their page or with manage.py, audited."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiToken, Scope
from accounts.tokens import authenticate, issue_token
from audit.models import AuditEvent
from tests.rest.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_only_the_hash_and_a_prefix_are_stored(administrator):
    api_token, token = issue_token(administrator, "job")
    assert token.startswith("cpt_") and len(token) > 40
    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(stored.prefix) and len(stored.prefix) == 12
    assert token not in str(list(ApiToken.objects.values()))
    assert token not in str(list(AuditEvent.objects.values()))
    assert authenticate(token, Scope.MANAGEMENT) == api_token
    assert authenticate(token, Scope.GATEWAY) == api_token
    assert authenticate(token + "x", Scope.MANAGEMENT) is None


def test_create_api_token_prints_the_token_alone_on_its_last_line(administrator):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "alice", "--name", "rotation job", stdout=out, stderr=err)
    token = out.getvalue().strip().splitlines()[-1]
    assert ApiClient(token).get("/certificates").status_code == 200
    assert ApiToken.objects.get().name == "rotation job"
    event = AuditEvent.objects.get(action="api-token-created")
    assert event.actor_name == "manage.py"
    assert event.after == {"name": "rotation job", "user": "alice", "scope": "both"}


def test_create_api_token_refuses_unknown_and_inactive_users(administrator):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody")
    administrator.is_active = False
    administrator.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "alice")


def test_the_page_creates_a_token_shown_once(admin_client, administrator):
    response = admin_client.post("/tokens/", {"name": "deploy", "scope": "both"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    token = response.context["created"]["token"]
    assert token in response.content.decode()
    assert ApiClient(token).get("/apis").status_code == 200
    again = admin_client.get("/tokens/")
    assert token not in again.content.decode()
    assert ApiToken.objects.get().prefix in again.content.decode()
    event = AuditEvent.objects.get(action="api-token-created")
    assert (event.actor, event.source_address) == (administrator, "127.0.0.1")


def test_the_page_needs_a_name(admin_client):
    response = admin_client.post("/tokens/", {"name": ""})
    assert response.context["created"] is None
    assert not ApiToken.objects.exists()


def test_revoke_own_token(admin_client, administrator):
    api_token, token = issue_token(administrator, "deploy")
    response = admin_client.post(f"/tokens/{api_token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    assert ApiClient(token).get("/apis").status_code == 401
    assert AuditEvent.objects.filter(action="api-token-revoked", actor=administrator).exists()
    page = admin_client.get("/tokens/")
    assert "Token deploy" in page.content.decode()  # the message says so
    assert not page.context["tokens"]


def test_nobody_revokes_anothers_token(client, administrator, reviewer):
    api_token, _ = issue_token(administrator, "deploy")
    client.force_login(reviewer)
    assert client.post(f"/tokens/{api_token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None
    assert "deploy" not in client.get("/tokens/").content.decode()


def test_revoke_needs_post(admin_client, administrator):
    api_token, _ = issue_token(administrator, "deploy")
    assert admin_client.get(f"/tokens/{api_token.pk}/revoke/").status_code == 405


def test_the_tokens_page_needs_sign_in(client):
    response = client.get("/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_the_navigation_links_to_api_tokens(admin_client):
    assert 'href="/tokens/"' in admin_client.get("/").content.decode()


@pytest.mark.parametrize(
    ("scope", "gateway", "management"),
    [(Scope.GATEWAY, True, False), (Scope.MANAGEMENT, False, True), (Scope.BOTH, True, True)],
)
def test_a_token_is_used_only_for_its_scope(administrator, scope, gateway, management):
    api_token, token = issue_token(administrator, "job", scope=scope)
    assert (authenticate(token, Scope.GATEWAY) == api_token) is gateway
    assert (authenticate(token, Scope.MANAGEMENT) == api_token) is management
    expected = 200 if management else 401
    assert ApiClient(token).get("/apis").status_code == expected


def test_an_expired_token_stops_working(administrator):
    api_token, token = issue_token(
        administrator, "job", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert authenticate(token, Scope.MANAGEMENT) == api_token
    ApiToken.objects.filter(pk=api_token.pk).update(expires_at=timezone.now())
    assert authenticate(token, Scope.MANAGEMENT) is None
    assert ApiClient(token).get("/apis").status_code == 401


def test_an_inactive_users_token_stops_working(administrator):
    _, token = issue_token(administrator, "job")
    administrator.is_active = False
    administrator.save()
    assert authenticate(token, Scope.GATEWAY) is None


def test_create_api_token_takes_a_scope_and_an_expiry(administrator):
    out = io.StringIO()
    call_command(
        "create_api_token",
        "alice",
        "--scope",
        "gateway",
        "--expires-in-days",
        "30",
        stdout=out,
        stderr=io.StringIO(),
    )
    stored = ApiToken.objects.get()
    assert stored.scope == Scope.GATEWAY
    assert timedelta(days=29) < stored.expires_at - timezone.now() <= timedelta(days=30)
    assert ApiClient(out.getvalue().strip().splitlines()[-1]).get("/apis").status_code == 401
    with pytest.raises(CommandError, match="1 or more"):
        call_command("create_api_token", "alice", "--expires-in-days", "0")


def test_the_page_creates_a_scoped_token_with_an_expiry(admin_client):
    day = (timezone.now() + timedelta(days=10)).date()
    response = admin_client.post(
        "/tokens/", {"name": "caller", "scope": "gateway", "expires": day.isoformat()}
    )
    token = response.context["created"]["token"]
    stored = ApiToken.objects.get()
    assert (stored.scope, stored.expires_at.date()) == (Scope.GATEWAY, day)
    assert ApiClient(token).get("/apis").status_code == 401
    assert "Gateway: call APIs" in admin_client.get("/tokens/").content.decode()


def test_the_page_refuses_an_expiry_in_the_past(admin_client):
    day = timezone.now().date().isoformat()
    response = admin_client.post("/tokens/", {"name": "caller", "scope": "both", "expires": day})
    assert response.context["created"] is None
    assert "Choose a day after today." in response.content.decode()
    assert not ApiToken.objects.exists()

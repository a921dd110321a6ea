"""API tokens: stored hashed, created and revoked on their page or with manage.py, audited."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from portal.models import ApiToken
from portal.tokens import authenticate, issue_token
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
    assert authenticate(token) == api_token
    assert authenticate(token + "x") is None


def test_create_api_token_prints_the_token_alone_on_its_last_line(administrator):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "alice", "--name", "rotation job", stdout=out, stderr=err)
    token = out.getvalue().strip().splitlines()[-1]
    assert ApiClient(token).get("/certificates").status_code == 200
    assert ApiToken.objects.get().name == "rotation job"
    event = AuditEvent.objects.get(action="api-token-created")
    assert event.actor_name == "manage.py"
    assert event.after == {"name": "rotation job", "user": "alice"}


def test_create_api_token_refuses_unknown_and_inactive_users(administrator):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody")
    administrator.is_active = False
    administrator.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "alice")


def test_the_page_creates_a_token_shown_once(admin_client, administrator):
    response = admin_client.post("/tokens/", {"name": "deploy"})
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

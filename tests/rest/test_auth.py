"""Who may call: bearer tokens with their user's role, or the portal's own session with CSRF."""

import pytest
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import revoke_token
from audit.models import AuditEvent
from tests.rest.conftest import ApiClient, error_of

pytestmark = pytest.mark.django_db

ORDERS = {"properties": {"displayName": "O", "path": "orders", "serviceUrl": "https://o.test"}}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer cpt_unknown", "Basic YWxpY2U6cGFzcw==", "Bearer " + "x" * 300],
)
def test_no_or_a_bad_token_is_401(db, header):
    headers = {"Authorization": header} if header else {}
    response = Client().get("/api/certificates", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_of(response)["code"] == "Unauthorized"


def test_a_revoked_token_is_401(administrator, token_for):
    token = token_for(administrator)
    assert ApiClient(token).get("/certificates").status_code == 200
    revoke_token(ApiToken.objects.get())
    assert ApiClient(token).get("/certificates").status_code == 401


def test_an_inactive_users_token_is_401(administrator, token_for):
    token = token_for(administrator)
    administrator.is_active = False
    administrator.save()
    assert ApiClient(token).get("/certificates").status_code == 401


def test_a_token_records_when_it_was_last_used(administrator, token_for):
    token = token_for(administrator)
    assert ApiToken.objects.get().last_used_at is None
    ApiClient(token).get("/certificates")
    assert ApiToken.objects.get().last_used_at is not None


def test_a_reviewers_token_reads_only(reviewer_api, api):
    api.put("/apis/orders", ORDERS)
    assert reviewer_api.get("/apis/orders").status_code == 200
    assert reviewer_api.get("/apis").json()["count"] == 1
    for response in (
        reviewer_api.put("/apis/orders", ORDERS),
        reviewer_api.put("/apis/new", ORDERS),
        reviewer_api.delete("/apis/orders"),
        reviewer_api.put("/apis/orders/policies/policy", {"properties": {"value": "x"}}),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "Forbidden"
    refused = AuditEvent.objects.filter(action="change-refused", actor_name="rita")
    assert refused.count() == 4


@pytest.mark.parametrize(
    "path",
    ["/certificates", "/certificates/x", "/caCertificates", "/backends", "/apis", "/apis/x"],
)
def test_an_outsiders_token_reads_nothing(outsider_api, path):
    response = outsider_api.get(path)
    assert response.status_code == 403


def test_the_token_user_is_the_actor_in_the_audit_trail(api, administrator):
    api.put("/apis/orders", ORDERS)
    event = AuditEvent.objects.get(action="api-created")
    assert (event.actor, event.actor_name, event.source_address) == (
        administrator,
        "alice",
        "127.0.0.1",
    )


def test_the_portal_session_works_for_reads(admin_client):
    assert admin_client.get("/api/certificates").status_code == 200


def test_session_changes_need_the_csrf_token(administrator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    session = ApiClient(None, client)
    response = session.put("/apis/orders", ORDERS)
    assert response.status_code == 403
    assert error_of(response)["code"] == "CsrfFailed"
    client.get("/tokens/")  # sets the CSRF cookie, as any page does
    csrf = client.cookies["csrftoken"].value
    assert session.put("/apis/orders", ORDERS, **{"X-CSRFToken": csrf}).status_code == 201


def test_token_calls_need_no_csrf_token(administrator, token_for):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)  # a session cookie too: the token still wins
    assert (
        ApiClient(token_for(administrator), client).put("/apis/orders", ORDERS).status_code == 201
    )


def test_a_bad_token_is_refused_even_with_a_session(admin_client):
    response = admin_client.get("/api/certificates", headers={"Authorization": "Bearer cpt_x"})
    assert response.status_code == 401


def test_the_schema_and_root_need_a_token_or_the_session(api, admin_client):
    for path in ("/api/openapi.json", "/api/"):
        assert Client().get(path).status_code == 401
        assert api.get(path.removeprefix("/api")).status_code == 200
        assert admin_client.get(path).status_code == 200


def test_the_docs_are_a_page_for_signed_in_people(reviewer_client):
    response = Client().get("/api/docs")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert reviewer_client.get("/api/docs").status_code == 200

"""What every endpoint shares: errors, methods, ETags and preconditions, body handling."""

import pytest

from apis.actions import create_api
from tests.rest.conftest import error_of

pytestmark = pytest.mark.django_db

ORDERS = {"properties": {"displayName": "O", "path": "orders", "serviceUrl": "https://o.test"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "InvalidJson"),
        (b"\xff\xfe{}", "InvalidJson"),
        ('{"properties": NaN}', "InvalidJson"),
        ("[" * 5000 + "]" * 5000, "ValidationError"),
        ("[" * 100_000 + "]" * 100_000, "InvalidJson"),
        ("[]", "ValidationError"),
        ('"text"', "ValidationError"),
        ('{"properties": []}', "ValidationError"),
        ('{"properties": {"displayName": "a\\u0000b"}}', "ValidationError"),
        ('{"properties": {"displayName": "\\ud800"}}', "ValidationError"),
        ("", "InvalidJson"),
    ],
)
def test_malformed_bodies_are_400(api, body, code):
    response = api.put("/apis/orders", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_a_body_that_is_not_json_is_415(api):
    response = api.put("/apis/orders", "a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "UnsupportedMediaType"


def test_json_with_a_charset_is_fine(api):
    response = api.put("/apis/orders", ORDERS, content_type="application/json; charset=utf-8")
    assert response.status_code == 201


def test_an_oversized_body_is_413(api):
    response = api.put("/apis/orders", '{"properties": {"x": "' + "a" * 1_100_000 + '"}}')
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestTooLarge"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/certificates", "GET"),
        ("DELETE", "/certificates", "GET"),
        ("POST", "/certificates/x", "GET, HEAD, PUT, DELETE"),
        ("PATCH", "/certificates/x", "GET, HEAD, PUT, DELETE"),
        ("POST", "/apis/x", "GET, HEAD, PUT, PATCH, DELETE"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_wrong_methods_are_405_json(api, method, path, allowed):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response["Allow"] == allowed
    assert error_of(response)["code"] == "MethodNotAllowed"


@pytest.mark.parametrize(
    "path", ["/nothing", "/certificates/", "/certificates/a/b", "/apis/x/policies/policy/y"]
)
def test_unknown_paths_are_404_json(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"


def test_the_api_root_points_at_the_collections(api):
    body = api.get("/").json()
    assert body["openapi"] == "/api/openapi.json"
    assert "/api/certificates" in body["collections"]


# ETags and preconditions ---------------------------------------------------------------------


def test_etag_follows_the_entity(api):
    created = api.put("/apis/orders", ORDERS)
    etag = created["ETag"]
    assert api.get("/apis/orders")["ETag"] == etag
    assert api.put("/apis/orders", ORDERS)["ETag"] == etag  # the same content
    changed = {"properties": {**ORDERS["properties"], "displayName": "New"}}
    assert api.put("/apis/orders", changed)["ETag"] != etag


def test_if_match_guards_put_and_delete(api):
    etag = api.put("/apis/orders", ORDERS)["ETag"]
    changed = {"properties": {**ORDERS["properties"], "displayName": "New"}}
    stale = api.put("/apis/orders", changed, **{"If-Match": '"0000"'})
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "PreconditionFailed"
    assert api.get("/apis/orders").json()["properties"]["displayName"] == "O"
    fresh = api.put("/apis/orders", changed, **{"If-Match": etag})
    assert fresh.status_code == 200
    assert api.delete("/apis/orders", **{"If-Match": etag}).status_code == 412
    assert api.delete("/apis/orders", **{"If-Match": f'"x", {fresh["ETag"]}'}).status_code == 204


def test_if_match_star_creates_or_replaces_unconditionally(api):
    # As ARM clients expect (az apim backend create sends it on a new Id).
    assert api.put("/apis/orders", ORDERS, **{"If-Match": "*"}).status_code == 201
    assert api.put("/apis/orders", ORDERS, **{"If-Match": "*"}).status_code == 200
    assert api.put("/apis/orders", ORDERS, **{"If-Match": '"other"'}).status_code == 412
    assert api.request("PATCH", "/apis/nope", **{"If-Match": "*"}).status_code == 404


def test_if_none_match_star_creates_only(api):
    assert api.put("/apis/orders", ORDERS, **{"If-None-Match": "*"}).status_code == 201
    assert api.put("/apis/orders", ORDERS, **{"If-None-Match": "*"}).status_code == 412


def test_conditional_delete_of_an_absent_entity_is_404(api):
    assert api.delete("/apis/orders", **{"If-Match": "*"}).status_code == 404


def test_a_refused_conditional_change_is_still_audited(reviewer_api, db):
    from audit.models import AuditEvent

    create_api(display_name="O", service_url="https://o.test", path="orders", name="orders")
    response = reviewer_api.delete("/apis/orders", **{"If-Match": "*"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="change-refused").exists()


def test_the_policy_honours_if_match(api):
    api.put("/apis/orders", ORDERS)
    policy = api.get("/apis/orders/policies/policy")
    body = {"properties": policy.json()["properties"]}
    assert api.put("/apis/orders/policies/policy", body, **{"If-Match": '"old"'}).status_code == 412
    response = api.put("/apis/orders/policies/policy", body, **{"If-Match": policy["ETag"]})
    assert response.status_code == 200


def test_the_docs_page_lists_every_path_without_inline_code(admin_client):
    html = admin_client.get("/api/docs").content.decode()
    for path in ("/api/certificates/{certificateId}", "/api/apis/{apiId}/policies/{policyId}"):
        assert path in html
    assert "<script>" not in html and "<script " not in html.replace('<script src="/', "")
    assert "style=" not in html
    assert "<style" not in html
    assert 'src="http' not in html
    assert 'href="http' not in html  # nothing from a foreign origin

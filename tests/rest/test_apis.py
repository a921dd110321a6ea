"""/api/apis, their operations and policies, and /api/backends."""

import pytest

from apis.actions import create_api, save_policy
from apis.models import Api, Backend, CredentialsKind, Operation
from apis.policy import DEFAULT_POLICY
from audit.models import AuditEvent
from tests.rest.conftest import error_of

pytestmark = pytest.mark.django_db

ORDERS = {
    "properties": {
        "displayName": "Orders API",
        "path": "orders",
        "serviceUrl": "https://orders.internal:8443/v1",
    }
}


def policy_with(element: str) -> str:
    return DEFAULT_POLICY.replace(
        "<inbound>\n        <base />", f"<inbound>\n        <base />\n        {element}"
    )


@pytest.fixture
def orders(db):
    return create_api(
        display_name="Orders API",
        service_url="https://orders.internal/v1",
        path="orders",
        name="orders",
    )


# APIs ----------------------------------------------------------------------------------------


def test_put_creates_an_api_under_the_given_id(api, administrator):
    response = api.put("/apis/orders", {**ORDERS, "unknownField": 1})
    assert response.status_code == 201
    assert response.json() == {
        "id": "/apis/orders",
        "type": "apis",
        "name": "orders",
        "properties": {
            "displayName": "Orders API",
            "path": "orders",
            "serviceUrl": "https://orders.internal:8443/v1",
            "protocols": ["https"],
            "description": "",
        },
    }
    event = AuditEvent.objects.get(action="api-created")
    assert (event.object_id, event.actor) == ("orders", administrator)


def test_put_over_an_api_changes_it(api, orders):
    body = {
        "properties": {
            **ORDERS["properties"],
            "displayName": "Orders v2",
            "path": "orders/v2",
            "protocols": ["http", "https"],
            "description": "Second",
        }
    }
    response = api.put("/apis/orders", body)
    assert response.status_code == 200
    orders.refresh_from_db()
    assert (orders.display_name, orders.path, orders.protocols, orders.description) == (
        "Orders v2",
        "orders/v2",
        ["http", "https"],
        "Second",
    )
    event = AuditEvent.objects.get(action="api-changed")
    assert event.before["displayName"] == "Orders API"
    assert event.after["displayName"] == "Orders v2"


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"path": "bad path!"}, "properties.path"),
        ({"serviceUrl": "ftp://x.test"}, "properties.serviceUrl"),
        ({"serviceUrl": "not a url"}, "properties.serviceUrl"),
        ({"displayName": "x" * 201}, "properties.displayName"),
        ({"protocols": ["ws"]}, "properties.protocols[0]"),
        ({"protocols": "https"}, "properties.protocols"),
        ({"displayName": None}, "properties.displayName"),
    ],
)
def test_api_validation_uses_the_pages_rules(api, change, target):
    response = api.put("/apis/orders", {"properties": {**ORDERS["properties"], **change}})
    assert response.status_code == 400
    assert error_of(response)["details"][0]["target"] == target


def test_two_apis_cannot_share_a_path(api, orders):
    other = {"properties": {**ORDERS["properties"], "displayName": "Other API"}}
    response = api.put("/apis/other", other)
    assert response.status_code == 400
    assert "Another API already uses this URL suffix" in error_of(response)["message"]


def test_two_apis_cannot_share_a_display_name_in_any_case(api, orders):
    other = {"properties": {**ORDERS["properties"], "displayName": "ORDERS API", "path": "o2"}}
    response = api.put("/apis/other", other)
    assert response.status_code == 400
    assert "Another API is already called Orders API" in error_of(response)["message"]


def test_get_list_and_delete_apis(api, orders):
    assert api.get("/apis/orders").json()["properties"]["path"] == "orders"
    assert api.get("/apis").json()["count"] == 1
    assert api.delete("/apis/orders").status_code == 204
    assert not Api.objects.exists()
    assert AuditEvent.objects.filter(action="api-deleted", object_id="orders").exists()


# Operations ----------------------------------------------------------------------------------


def test_operations_crud(api, orders):
    body = {"properties": {"displayName": "Get order", "method": "get", "urlTemplate": "/o/{id}"}}
    response = api.put("/apis/orders/operations/get-order", body)
    assert response.status_code == 201
    assert response.json() == {
        "id": "/apis/orders/operations/get-order",
        "type": "operations",
        "name": "get-order",
        "properties": {
            "displayName": "Get order",
            "method": "GET",
            "urlTemplate": "/o/{id}",
            "description": "",
        },
    }
    body["properties"]["urlTemplate"] = "/orders/{id}"
    assert api.put("/apis/orders/operations/get-order", body).status_code == 200
    assert Operation.objects.get().url_template == "/orders/{id}"
    listing = api.get("/apis/orders/operations").json()
    assert [entity["name"] for entity in listing["value"]] == ["get-order"]
    assert api.delete("/apis/orders/operations/get-order").status_code == 204
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"operation-created", "operation-changed", "operation-deleted"} <= actions


def test_an_operation_route_is_unique_per_api(api, orders):
    body = {"properties": {"displayName": "A", "method": "GET", "urlTemplate": "/a"}}
    assert api.put("/apis/orders/operations/a", body).status_code == 201
    response = api.put("/apis/orders/operations/b", body)
    assert response.status_code == 409
    assert error_of(response)["details"][0]["target"] == "properties.urlTemplate"


def test_operation_validation_and_unknown_api(api, orders):
    body = {"properties": {"displayName": "A", "method": "FETCH", "urlTemplate": "no slash {"}}
    response = api.put("/apis/orders/operations/a", body)
    assert response.status_code == 400
    targets = {detail["target"] for detail in error_of(response)["details"]}
    assert targets == {"properties.method", "properties.urlTemplate"}
    response = api.get("/apis/nope/operations")
    assert response.status_code == 404
    assert "No API with the Id nope" in error_of(response)["message"]
    assert api.get("/apis/orders/operations/nope").status_code == 404


# Policies ------------------------------------------------------------------------------------


def test_get_the_policy(api, orders):
    response = api.get("/apis/orders/policies/policy")
    assert response.json() == {
        "id": "/apis/orders/policies/policy",
        "type": "policies",
        "name": "policy",
        "properties": {"format": "xml", "value": DEFAULT_POLICY},
    }
    assert api.get("/apis/orders/policies").json()["count"] == 1
    assert api.get("/apis/orders/policies/other").status_code == 404


def test_put_the_policy_sets_the_gateway_credentials(api, orders, certificate):
    value = policy_with('<authentication-certificate certificate-id="orders-client" />')
    response = api.put(
        "/apis/orders/policies/policy", {"properties": {"format": "rawxml", "value": value}}
    )
    assert response.status_code == 200
    orders.refresh_from_db()
    assert orders.client_certificate == certificate
    assert orders.gateway_credentials == CredentialsKind.CERTIFICATE
    assert AuditEvent.objects.get(action="policy-changed").after["certificateId"] == "orders-client"


def test_a_bad_policy_is_400_with_its_line(api, orders):
    value = policy_with('<authentication-certificate certificate-id="missing" />')
    response = api.put("/apis/orders/policies/policy", {"properties": {"value": value}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidPolicy"
    assert error["details"][0]["line"] == 4
    response = api.put("/apis/orders/policies/policy", {"properties": {"value": "<policies"}})
    assert error_of(response)["code"] == "InvalidPolicy"
    response = api.put(
        "/apis/orders/policies/policy", {"properties": {"format": "xml-link", "value": "x"}}
    )
    assert error_of(response)["details"][0]["target"] == "properties.format"
    assert Api.objects.get().policy_xml == DEFAULT_POLICY


def test_deleting_the_policy_brings_back_the_default(api, orders):
    value = policy_with('<set-backend-service base-url="https://orders2.test" />')
    assert (
        api.put("/apis/orders/policies/policy", {"properties": {"value": value}}).status_code == 200
    )
    response = api.delete("/apis/orders/policies/policy")
    assert response.status_code == 204
    assert "Content-Type" not in response
    assert Api.objects.get().policy_xml == DEFAULT_POLICY
    assert api.get("/apis/orders/policies/policy").json()["properties"]["value"] == DEFAULT_POLICY
    assert api.delete("/apis/orders/policies/policy").status_code == 204


def test_unsupported_properties_are_refused_by_name(api, orders):
    body = {"properties": {**ORDERS["properties"], "apiRevision": "1", "isCurrent": True}}
    response = api.put("/apis/orders", body)
    assert response.status_code == 400
    error = error_of(response)
    assert "properties.apiRevision" in error["message"]
    assert {d["target"] for d in error["details"]} == {
        "properties.apiRevision",
        "properties.isCurrent",
    }
    assert {d["code"] for d in error["details"]} == {"UnknownProperty"}


# Backends ------------------------------------------------------------------------------------


def test_put_a_backend_with_tls_and_credentials(api, certificate, ca_certificate):
    body = {
        "properties": {
            "url": "https://orders.internal:8443/",
            "protocol": "http",
            "description": "Orders",
            "tls": {
                "validateCertificateChain": False,
                "validateCertificateName": True,
                "caCertificateIds": ["/subscriptions/s/service/x/caCertificates/internal-root"],
            },
            "credentials": {"certificateIds": ["orders-client"]},
        }
    }
    response = api.put("/backends/orders", body)
    assert response.status_code == 201
    assert response.json()["properties"] == {
        "url": "https://orders.internal:8443",
        "protocol": "http",
        "description": "Orders",
        "tls": {
            "validateCertificateChain": False,
            "validateCertificateName": True,
            "caCertificateIds": ["internal-root"],
        },
        "credentials": {
            "certificateIds": ["orders-client"],
            "certificate": [certificate.thumbprint],
        },
    }
    backend = Backend.objects.get()
    assert list(backend.client_certificates.all()) == [certificate]
    assert AuditEvent.objects.get(action="backend-created").after["certificateIds"] == [
        "orders-client"
    ]
    # A PUT replaces the whole entity: what it leaves out takes its default.
    response = api.put("/backends/orders", {"properties": {"url": "https://orders.internal"}})
    assert response.status_code == 200
    assert response.json()["properties"]["tls"] == {
        "validateCertificateChain": True,
        "validateCertificateName": True,
        "caCertificateIds": [],
    }
    assert AuditEvent.objects.filter(action="backend-changed").exists()


def test_backend_credentials_by_thumbprint(api, certificate):
    body = {
        "properties": {
            "url": "https://b.test",
            "credentials": {"certificate": [certificate.thumbprint.lower()]},
        }
    }
    response = api.put("/backends/b", body)
    assert response.json()["properties"]["credentials"]["certificateIds"] == ["orders-client"]


BACKEND_PROBLEMS = [
    ({"tls": {"caCertificateIds": ["nope"]}}, "properties.tls.caCertificateIds"),
    ({"credentials": {"certificateIds": ["nope"]}}, "properties.credentials.certificateIds"),
    ({"tls": {"validateCertificateChain": "false"}}, "properties.tls.validateCertificateChain"),
    ({"tls": []}, "properties.tls"),
    ({"protocol": "soap"}, "properties.protocol"),
    ({"url": "mailto:x@example.test"}, "properties.url"),
    ({"url": None}, "properties.url"),
]


@pytest.mark.parametrize(("change", "target"), BACKEND_PROBLEMS)
def test_backend_validation(api, change, target):
    response = api.put("/backends/b", {"properties": {"url": "https://b.test", **change}})
    assert response.status_code == 400
    assert error_of(response)["details"][0]["target"] == target


def test_a_backend_named_in_a_policy_cannot_be_deleted(api, orders):
    assert api.put("/backends/orders", {"properties": {"url": "https://o.test"}}).status_code == 201
    save_policy(orders, policy_with('<set-backend-service backend-id="orders" />'), version=None)
    response = api.delete("/backends/orders")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "BackendInUse"
    assert error["details"][0]["target"] == "/apis/orders"
    save_policy(orders, DEFAULT_POLICY, version=None)
    assert api.delete("/backends/orders").status_code == 204
    assert AuditEvent.objects.filter(action="backend-deleted").exists()

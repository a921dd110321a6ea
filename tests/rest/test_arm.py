"""The management (ARM) route shape: the same entities as /api/, addressed as the reference does."""

import json

import pytest
from django.test import Client

from accounts.models import Scope
from accounts.tokens import issue_token
from apis.actions import create_api, save_backend
from apis.models import Api, Backend
from apis.policy import DEFAULT_POLICY
from tests.rest.conftest import ApiClient, error_of

pytestmark = pytest.mark.django_db

PREFIX = "/subscriptions/sub-1/resourceGroups/ops/providers/Microsoft.ApiManagement/service/gw"
VERSION = "api-version=2022-08-01"
ORDERS = {"properties": {"displayName": "Orders", "path": "orders", "serviceUrl": "https://o.test"}}


class ArmClient:
    """The Django test client on the management paths, `api-version` added unless given."""

    def __init__(self, token: str):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def url(self, path: str) -> str:
        if "api-version" in path:
            return PREFIX + path
        return f"{PREFIX}{path}{'&' if '?' in path else '?'}{VERSION}"

    def get(self, path, **headers):
        return self.client.get(self.url(path), headers={**self.headers, **headers})

    def put(self, path, body, **headers):
        return self.request("PUT", path, body, **headers)

    def delete(self, path, **headers):
        return self.request("DELETE", path, **headers)

    def request(self, method, path, body=None, **headers):
        data = "" if body is None else json.dumps(body)
        return self.client.generic(
            method,
            self.url(path),
            data,
            content_type="application/json",
            headers={**self.headers, **headers},
        )


@pytest.fixture
def arm(administrator, token_for):
    return ArmClient(token_for(administrator))


@pytest.fixture
def orders(db):
    return create_api(
        display_name="Orders", service_url="https://o.test", path="orders", name="orders"
    )


@pytest.mark.parametrize("query", ["", "?api-version=2014-02-14", "?api-version="])
def test_api_version_is_required_and_checked(arm, query):
    response = arm.client.get(f"{PREFIX}/certificates{query}", headers=arm.headers)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidApiVersionParameter"
    assert "2024-05-01" in error["message"]


def test_fixed_segments_match_in_any_case_names_do_not(arm, certificate):
    path = "/SUBSCRIPTIONS/s/resourcegroups/g/PROVIDERS/microsoft.apimanagement/Service/x"
    response = arm.client.get(f"{path}/Certificates/orders-client?{VERSION}", headers=arm.headers)
    assert response.status_code == 200
    # Ids are written in ARM's canonical case, with the caller's names.
    canonical = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ApiManagement/service/x"
    assert response.json()["id"] == f"{canonical}/certificates/orders-client"
    response = arm.client.get(f"{path}/certificates/Orders-Client?{VERSION}", headers=arm.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions",
        "/subscriptions/s/resourceGroups/g",
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x",
        f"{PREFIX}/nothing",
        f"{PREFIX}/certificates/a/b",
        f"{PREFIX}/apis/x/policies/policy/y",
    ],
)
def test_unknown_paths_are_json_404(arm, path):
    response = arm.client.get(f"{path}?{VERSION}", headers=arm.headers)
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"


def test_ids_types_and_location_echo_the_route(arm, pfx_body):
    response = arm.put("/certificates/orders-client", pfx_body())
    assert response.status_code == 201
    entity = response.json()
    assert entity["id"] == f"{PREFIX}/certificates/orders-client"
    assert entity["type"] == "Microsoft.ApiManagement/service/certificates"
    assert response["Location"] == f"http://testserver{PREFIX}/certificates/orders-client?{VERSION}"
    assert response["Retry-After"] == "0"
    api_entity = ApiClient(arm.headers["Authorization"].split()[1]).get(
        "/certificates/orders-client"
    )
    assert api_entity.json()["id"] == "/certificates/orders-client"
    assert api_entity["ETag"] == response["ETag"] == arm.get("/certificates/orders-client")["ETag"]


def test_head_answers_the_etag_without_a_body(arm, certificate):
    response = arm.request("HEAD", "/certificates/orders-client")
    assert response.status_code == 200
    assert response["ETag"] == arm.get("/certificates/orders-client")["ETag"]
    assert response.content == b""
    assert arm.request("HEAD", "/certificates/missing").status_code == 404


def test_paging_links_stay_on_the_route(arm, orders):
    for name in ("b", "c"):
        create_api(display_name=name.upper(), service_url="https://o.test", path=name, name=name)
    page = arm.get("/apis?$top=2").json()
    assert [entity["name"] for entity in page["value"]] == ["b", "c"]
    assert page["count"] == 3
    assert page["nextLink"].startswith(f"http://testserver{PREFIX}/apis?")
    assert "api-version=2022-08-01" in page["nextLink"] and "$skip=2" in page["nextLink"]
    rest = arm.client.get(page["nextLink"], headers=arm.headers).json()
    assert [entity["name"] for entity in rest["value"]] == ["orders"]
    assert rest["nextLink"] is None


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("properties/displayName eq 'Orders'", ["orders"]),
        ("startswith(properties/path, 'b') or name eq 'orders'", ["b", "orders"]),
        ("contains(properties/serviceUrl, 'other') and name ne 'b'", []),
        ("name ge 'b' and name lt 'orders'", ["b"]),
    ],
)
def test_filters(arm, orders, expression, names):
    create_api(display_name="B", service_url="https://b.test", path="b", name="b")
    response = arm.get(f"/apis?$filter={expression}")
    assert response.status_code == 200, response.content
    assert sorted(entity["name"] for entity in response.json()["value"]) == names


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("properties/description eq 'x'", "properties/description"),
        ("not (name eq 'x')", "not"),
        ("name eq", "not valid OData"),
        ("substringof('a', name)", "substringof"),
        ("name in ('a', 'b')", "Comparisons"),
        ("name eq 'x' ; drop table apis_api", "not valid OData"),
    ],
)
def test_unsupported_filters_are_400_with_the_reason(arm, api, orders, expression, reason):
    for response in (
        arm.get(f"/apis?$filter={expression}"),
        api.get(f"/apis?$filter={expression}"),
    ):
        assert response.status_code == 400
        error = error_of(response)
        assert error["details"][0]["target"] == "$filter"
        assert reason in error["message"]


def test_certificate_filters(arm, certificate):
    assert (
        arm.get("/certificates?$filter=expirationDate gt 2000-01-01T00:00:00Z").json()["count"] == 1
    )
    assert (
        arm.get("/certificates?$filter=expirationDate lt 2000-01-01T00:00:00Z").json()["count"] == 0
    )
    thumbprint = certificate.thumbprint
    assert arm.get(f"/certificates?$filter=thumbprint eq '{thumbprint}'").json()["count"] == 1


def test_backends_patch_merges_and_references_are_arm_ids(arm, certificate, ca_certificate):
    body = {
        "properties": {
            "url": "https://orders.internal",
            "protocol": "http",
            "tls": {"caCertificateIds": ["internal-root"]},
            "credentials": {"certificateIds": [f"{PREFIX}/certificates/orders-client"]},
        }
    }
    assert arm.put("/backends/orders", body, **{"If-Match": "*"}).status_code == 201
    response = arm.request("PATCH", "/backends/orders", {"properties": {"description": "New"}})
    assert response.status_code == 200, response.content
    properties = response.json()["properties"]
    assert properties["url"] == "https://orders.internal"
    assert properties["description"] == "New"
    assert properties["credentials"]["certificateIds"] == [f"{PREFIX}/certificates/orders-client"]
    assert properties["tls"]["caCertificateIds"] == [f"{PREFIX}/caCertificates/internal-root"]
    backend = Backend.objects.get()
    assert [c.name for c in backend.client_certificates.all()] == ["orders-client"]
    assert arm.request("PATCH", "/backends/none", {"properties": {}}).status_code == 404


@pytest.mark.parametrize(
    ("properties", "unknown"),
    [
        ({"credentials": {"header": {"x": ["y"]}}}, "properties.credentials.header"),
        ({"proxy": {"url": "http://p"}}, "properties.proxy"),
        ({"circuitBreaker": {"rules": []}}, "properties.circuitBreaker"),
        ({"tls": {"serverX509Names": []}}, "properties.tls.serverX509Names"),
    ],
)
def test_unsupported_backend_properties_are_refused_by_name(arm, properties, unknown):
    body = {"properties": {"url": "https://orders.internal", **properties}}
    response = arm.put("/backends/orders", body)
    assert response.status_code == 400
    error = error_of(response)
    assert unknown in error["message"]
    assert error["details"][0] == {
        "code": "UnknownProperty",
        "target": unknown,
        "message": f"{unknown} is not a property this portal supports.",
    }
    assert not Backend.objects.exists()


def test_read_only_properties_are_accepted_and_ignored(arm, pfx_body):
    body = pfx_body()
    body["properties"].update(subject="CN=other", thumbprint="0" * 40, expirationDate="2000-01-01")
    response = arm.put("/certificates/orders-client", body)
    assert response.status_code == 201
    assert response.json()["properties"]["subject"].startswith("CN=orders.example.test")


def test_the_policy_on_the_arm_route(arm, orders):
    response = arm.get("/apis/orders/policies/policy")
    assert response.status_code == 200
    assert response.json()["properties"]["value"] == DEFAULT_POLICY
    assert response.json()["type"] == "Microsoft.ApiManagement/service/apis/policies"
    document = DEFAULT_POLICY.replace(
        "<inbound>", '<inbound>\n<set-backend-service base-url="https://b.test" />'
    )
    body = {"properties": {"format": "xml", "value": document}}
    first = arm.put("/apis/orders/policies/policy", body)
    assert first.status_code == 201, first.content
    assert arm.put("/apis/orders/policies/policy", body).status_code == 200
    deleted = arm.delete("/apis/orders/policies/policy", **{"If-Match": "*"})
    assert deleted.status_code == 204
    assert not deleted.has_header("Content-Type")
    assert Api.objects.get().policy_xml == DEFAULT_POLICY


def test_the_service_resource(arm, settings):
    settings.GATEWAY_BASE_URL = "https://gateway.example.test"
    response = arm.get("")
    assert response.status_code == 200
    service = response.json()
    assert service["id"] == PREFIX
    assert service["name"] == "gw"
    assert service["type"] == "Microsoft.ApiManagement/service"
    assert service["properties"]["gatewayUrl"] == "https://gateway.example.test"
    assert service["properties"]["managementApiUrl"] == "http://testserver"
    assert arm.request("POST", "").status_code == 405


def test_the_arm_route_needs_a_token_and_a_role(arm, reviewer, token_for, orders):
    response = Client().get(f"{PREFIX}/apis?{VERSION}")
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"
    reviewer_arm = ArmClient(token_for(reviewer))
    assert reviewer_arm.get("/apis/orders").status_code == 200
    refused = reviewer_arm.request("PATCH", "/apis/orders", {"properties": {"description": "x"}})
    assert refused.status_code == 403
    assert Api.objects.get().description == ""


def test_a_stale_etag_is_412(arm, orders):
    response = arm.request(
        "PATCH", "/apis/orders", {"properties": {"description": "x"}}, **{"If-Match": '"old"'}
    )
    assert response.status_code == 412
    assert error_of(response)["code"] == "PreconditionFailed"


def test_a_backend_in_use_by_an_api_policy_is_409(arm, orders):
    save_backend(
        Backend(name="orders-backend", url="https://b.test"),
        ca_certificates=[],
        client_certificates=[],
    )
    document = DEFAULT_POLICY.replace(
        "<inbound>", '<inbound>\n<set-backend-service backend-id="orders-backend" />'
    )
    assert (
        arm.put("/apis/orders/policies/policy", {"properties": {"value": document}}).status_code
        == 201
    )
    response = arm.delete("/backends/orders-backend", **{"If-Match": "*"})
    assert response.status_code == 409


def test_a_policy_may_name_a_certificate_by_its_resource_id(arm, orders, certificate):
    reference = (
        f'<authentication-certificate certificate-id="{PREFIX}/certificates/orders-client" />'
    )
    document = DEFAULT_POLICY.replace("<inbound>", f"<inbound>\n{reference}")
    response = arm.put("/apis/orders/policies/policy", {"properties": {"value": document}})
    assert response.status_code == 201, response.content
    orders.refresh_from_db()
    assert orders.client_certificate == certificate
    assert 'certificate-id="orders-client"' in orders.policy_xml


def test_a_gateway_token_cannot_manage(administrator):
    token = issue_token(administrator, "gateway only", scope=Scope.GATEWAY)[1]
    response = ArmClient(token).get("/apis")
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_odd_unknown_property_names_are_named_safely(arm):
    body = {"properties": {"url": "https://o.test", "{target}": 1, "x" * 5000: 2}}
    response = arm.put("/backends/orders", body)
    assert response.status_code == 400
    targets = [d["target"] for d in error_of(response)["details"]]
    assert "properties.{target}" in targets
    assert max(len(target) for target in targets) == 200

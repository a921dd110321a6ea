"""The unmodified Azure SDK for Python (azure-mgmt-apimanagement) manages the portal.

The SDK builds the reference's management paths (/subscriptions/.../providers/
Microsoft.ApiManagement/service/...) against the portal's origin; the token credential hands it
a portal API token. Plain http on 127.0.0.1 needs the SDK's per-call `enforce_https=False`.
"""

import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.apimanagement import ApiManagementClient
from azure.mgmt.apimanagement.models import (
    ApiCreateOrUpdateParameter,
    BackendContract,
    BackendCredentialsContract,
    BackendUpdateParameters,
    CertificateCreateOrUpdateParameters,
    OperationContract,
    PolicyContract,
)

from accounts.tokens import issue_token
from apis.models import Backend
from tests import pki
from tests.rest.conftest import b64

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIPTION, GROUP, SERVICE = "00000000-0000-0000-0000-000000000000", "ops", "portal"
PREFIX = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.ApiManagement"
    f"/service/{SERVICE}"
)
HTTP = {"enforce_https": False}


class PortalToken:
    """A token credential: the SDK asks it for a bearer token, it answers the portal's."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def sdk(live_server, administrator):
    token = issue_token(administrator, "sdk")[1]
    client = ApiManagementClient(
        PortalToken(token), SUBSCRIPTION, base_url=live_server.url, retry_total=0
    )
    yield client
    client.close()


def _pfx_parameters(common_name: str) -> CertificateCreateOrUpdateParameters:
    leaf = pki.make_leaf(pki.make_ca(), common_name)
    return CertificateCreateOrUpdateParameters(
        data=b64(pki.make_pfx(leaf)), password=pki.DEFAULT_PASSWORD
    )


def _upload(sdk, name: str, common_name: str):
    return sdk.certificate.create_or_update(
        GROUP, SERVICE, name, _pfx_parameters(common_name), **HTTP
    )


def test_certificates_with_the_sdk(sdk):
    created = _upload(sdk, "orders-client", "orders.example.test")
    assert created.id == f"{PREFIX}/certificates/orders-client"
    assert created.type == "Microsoft.ApiManagement/service/certificates"
    assert created.name == "orders-client"
    assert created.subject.startswith("CN=orders.example.test")
    assert len(created.thumbprint) == 40
    assert created.expiration_date.year >= 2026

    got = sdk.certificate.get(GROUP, SERVICE, "orders-client", **HTTP)
    assert got.thumbprint == created.thumbprint
    assert sdk.certificate.get_entity_tag(GROUP, SERVICE, "orders-client", **HTTP) is True
    with pytest.raises(ResourceNotFoundError):
        sdk.certificate.get_entity_tag(GROUP, SERVICE, "missing", **HTTP)
    with pytest.raises(ResourceNotFoundError):
        sdk.certificate.get(GROUP, SERVICE, "missing", **HTTP)

    for index in range(3):
        _upload(sdk, f"billing-{index}", f"billing{index}.example.test")
    names = [c.name for c in sdk.certificate.list_by_service(GROUP, SERVICE, top=2, **HTTP)]
    assert sorted(names) == ["billing-0", "billing-1", "billing-2", "orders-client"]
    filtered = sdk.certificate.list_by_service(
        GROUP, SERVICE, filter="startswith(name, 'billing') and name ne 'billing-1'", **HTTP
    )
    assert sorted(c.name for c in filtered) == ["billing-0", "billing-2"]
    paged = sdk.certificate.list_by_service(
        GROUP, SERVICE, filter="startswith(name, 'billing')", top=1, **HTTP
    )
    assert [c.name for c in paged] == ["billing-0", "billing-1", "billing-2"]
    by_subject = sdk.certificate.list_by_service(
        GROUP, SERVICE, filter="contains(subject, 'orders.example')", **HTTP
    )
    assert [c.name for c in by_subject] == ["orders-client"]
    with pytest.raises(HttpResponseError) as refused:
        list(sdk.certificate.list_by_service(GROUP, SERVICE, filter="password eq 'x'", **HTTP))
    assert refused.value.status_code == 400
    assert "password" in refused.value.message

    sdk.certificate.delete(GROUP, SERVICE, "billing-0", if_match="*", **HTTP)
    with pytest.raises(ResourceNotFoundError):
        sdk.certificate.get(GROUP, SERVICE, "billing-0", **HTTP)


def test_backends_and_a_certificate_in_use(sdk):
    certificate = _upload(sdk, "orders-client", "orders.example.test")
    backend = sdk.backend.create_or_update(
        GROUP,
        SERVICE,
        "orders-backend",
        BackendContract(
            url="https://orders.internal.test",
            protocol="http",
            description="Orders",
            credentials=BackendCredentialsContract(certificate_ids=[certificate.id]),
        ),
        if_match="*",
        **HTTP,
    )
    assert backend.id == f"{PREFIX}/backends/orders-backend"
    assert backend.type == "Microsoft.ApiManagement/service/backends"
    assert backend.credentials.certificate_ids == [certificate.id]

    updated = sdk.backend.update(
        GROUP,
        SERVICE,
        "orders-backend",
        "*",
        BackendUpdateParameters(description="Orders, second site"),
        **HTTP,
    )
    assert updated.description == "Orders, second site"
    assert updated.url == "https://orders.internal.test"
    assert updated.credentials.certificate_ids == [certificate.id]

    with pytest.raises(HttpResponseError) as in_use:
        sdk.certificate.delete(GROUP, SERVICE, "orders-client", if_match="*", **HTTP)
    assert in_use.value.status_code == 409
    assert in_use.value.error.code == "CertificateInUse"

    with pytest.raises(HttpResponseError) as unknown:
        sdk.backend.create_or_update(
            GROUP,
            SERVICE,
            "other",
            {"properties": {"url": "https://o.test", "protocol": "http", "proxy": {"url": "x"}}},
            **HTTP,
        )
    assert unknown.value.status_code == 400
    assert "proxy" in unknown.value.message

    with pytest.raises(HttpResponseError) as stale:
        sdk.backend.update(
            GROUP,
            SERVICE,
            "orders-backend",
            '"stale"',
            BackendUpdateParameters(description="lost update"),
            **HTTP,
        )
    assert stale.value.status_code == 412

    sdk.backend.delete(GROUP, SERVICE, "orders-backend", if_match="*", **HTTP)
    sdk.certificate.delete(GROUP, SERVICE, "orders-client", if_match="*", **HTTP)
    assert list(sdk.backend.list_by_service(GROUP, SERVICE, **HTTP)) == []


def test_apis_operations_and_policies(sdk):
    api = sdk.api.begin_create_or_update(
        GROUP,
        SERVICE,
        "orders",
        ApiCreateOrUpdateParameter(
            display_name="Orders",
            path="orders",
            service_url="https://orders.test",
            protocols=["https"],
        ),
        polling_interval=0,
        **HTTP,
    ).result()
    assert api.id == f"{PREFIX}/apis/orders"
    assert api.type == "Microsoft.ApiManagement/service/apis"
    assert api.display_name == "Orders"

    found = sdk.api.list_by_service(
        GROUP, SERVICE, filter="properties/displayName eq 'Orders'", **HTTP
    )
    assert [a.name for a in found] == ["orders"]
    assert list(sdk.api.list_by_service(GROUP, SERVICE, filter="name eq 'none'", **HTTP)) == []

    operation = sdk.api_operation.create_or_update(
        GROUP,
        SERVICE,
        "orders",
        "list-orders",
        OperationContract(display_name="List orders", method="GET", url_template="/orders"),
        if_match="*",
        **HTTP,
    )
    assert operation.id == f"{PREFIX}/apis/orders/operations/list-orders"
    assert operation.type == "Microsoft.ApiManagement/service/apis/operations"
    assert [o.name for o in sdk.api_operation.list_by_api(GROUP, SERVICE, "orders", **HTTP)] == [
        "list-orders"
    ]

    document = "<policies><inbound><base /></inbound><backend><base /></backend></policies>"
    default = sdk.api_policy.get(GROUP, SERVICE, "orders", "policy", **HTTP)
    assert default.type == "Microsoft.ApiManagement/service/apis/policies"
    policy = sdk.api_policy.create_or_update(
        GROUP, SERVICE, "orders", "policy", PolicyContract(value=document, format="xml"), **HTTP
    )
    assert policy.id == f"{PREFIX}/apis/orders/policies/policy"
    assert "<inbound>" in sdk.api_policy.get(GROUP, SERVICE, "orders", "policy", **HTTP).value
    sdk.api_policy.delete(GROUP, SERVICE, "orders", "policy", if_match="*", **HTTP)
    assert sdk.api_policy.get(GROUP, SERVICE, "orders", "policy", **HTTP).value == default.value

    sdk.api_operation.delete(GROUP, SERVICE, "orders", "list-orders", if_match="*", **HTTP)
    sdk.api.begin_delete(
        GROUP, SERVICE, "orders", if_match="*", polling_interval=0, **HTTP
    ).result()
    with pytest.raises(ResourceNotFoundError):
        sdk.api.get(GROUP, SERVICE, "orders", **HTTP)


def test_the_service_resource(sdk, live_server):
    service = sdk.api_management_service.get(GROUP, SERVICE, **HTTP)
    assert service.id == PREFIX
    assert service.name == SERVICE
    assert service.type == "Microsoft.ApiManagement/service"
    assert service.management_api_url == live_server.url


def test_an_unknown_api_version_is_refused(live_server, administrator):
    token = issue_token(administrator, "sdk")[1]
    client = ApiManagementClient(
        PortalToken(token), SUBSCRIPTION, base_url=live_server.url, api_version="2014-02-14"
    )
    with pytest.raises(HttpResponseError) as refused:
        client.certificate.get(GROUP, SERVICE, "orders-client", **HTTP)
    assert refused.value.status_code == 400
    assert refused.value.error.code == "InvalidApiVersionParameter"


def test_the_docs_sdk_snippet_works(live_server, administrator, tmp_path, monkeypatch, capsys):
    """docs/rest-api.md's snippet as written; only the origin, token and https check differ."""
    text = (Path(__file__).parents[2] / "docs" / "rest-api.md").read_text()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    token = issue_token(administrator, "docs")[1]
    snippet = snippet.replace("https://portal.example.com", live_server.url)
    snippet = snippet.replace('"cpt_..."', repr(token)).replace(
        'password="..."', "password=PASSWORD"
    )
    leaf = pki.make_leaf(pki.make_ca(), "orders.example.test")
    (tmp_path / "orders.pfx").write_bytes(pki.make_pfx(leaf))
    monkeypatch.chdir(tmp_path)
    # The snippet's base URL is https; the live server speaks http on 127.0.0.1.
    monkeypatch.setattr(
        "azure.core.pipeline.policies._authentication._enforce_https", lambda request: None
    )
    exec(compile(snippet, "docs/rest-api.md", "exec"), {"PASSWORD": pki.DEFAULT_PASSWORD})
    assert capsys.readouterr().out.startswith("orders-client ")
    backend = Backend.objects.get(name="orders")
    assert [c.name for c in backend.client_certificates.all()] == ["orders-client"]

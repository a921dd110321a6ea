"""The certificate entity's contract: /api/certificates and /api/caCertificates."""

import datetime as dt

import pytest

from apis.actions import GatewayCredentials, create_api, save_backend, set_gateway_credentials
from apis.models import Backend
from audit.models import AuditEvent
from certificates.facts import certificate_thumbprint
from certificates.models import CACertificate, Certificate
from tests import pki
from tests.rest.conftest import b64, error_of

pytestmark = pytest.mark.django_db


def test_put_creates_a_certificate_with_the_reference_shape(api, administrator):
    leaf = pki.make_leaf(
        pki.make_ca(),
        "orders.example.test",
        not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    body = {"properties": {"data": b64(pki.make_pfx(leaf)), "password": pki.DEFAULT_PASSWORD}}
    response = api.put("/certificates/orders-client", body)
    assert response.status_code == 201
    assert response.json() == {
        "id": "/certificates/orders-client",
        "type": "certificates",
        "name": "orders-client",
        "properties": {
            "subject": "CN=orders.example.test,O=Certificate Portal Tests",
            "thumbprint": certificate_thumbprint(leaf.certificate),
            "expirationDate": "2027-01-01T00:00:00Z",
        },
    }
    assert response["ETag"].startswith('"')
    assert response["Location"] == "http://testserver/api/certificates/orders-client"
    certificate = Certificate.objects.get(name="orders-client")
    assert certificate.uploaded_by == administrator
    event = AuditEvent.objects.get(action="certificate-uploaded")
    assert (event.actor, event.object_id, event.source_address) == (
        administrator,
        "orders-client",
        "127.0.0.1",
    )


def test_the_password_is_never_echoed_or_stored(api, pfx_body):
    body = pfx_body(password="Sëcret password 42")
    response = api.put("/certificates/orders-client", body)
    assert response.status_code == 201
    assert b"Secret password" not in response.content
    assert "Sëcret" not in str(list(AuditEvent.objects.values()))


def test_put_over_an_existing_id_replaces_it(api, pfx_body, certificate):
    old_thumbprint = certificate.thumbprint
    response = api.put("/certificates/orders-client", pfx_body("rotated.example.test"))
    assert response.status_code == 200
    assert response.json()["properties"]["thumbprint"] != old_thumbprint
    certificate.refresh_from_db()
    assert certificate.version == 2
    assert "rotated.example.test" in certificate.subject
    event = AuditEvent.objects.get(action="certificate-replaced")
    assert event.before["thumbprint"] == old_thumbprint


def test_get_one_and_list(api, certificate, pfx_body):
    response = api.get("/certificates/orders-client")
    assert response.status_code == 200
    assert response.json()["properties"]["thumbprint"] == certificate.thumbprint
    assert response["ETag"]
    listing = api.get("/certificates").json()
    assert listing == {"value": [response.json()], "count": 1, "nextLink": None}


def test_lists_are_paged_with_top_and_skip(api, pfx_body):
    for index in range(3):
        assert api.put(f"/certificates/c{index}", pfx_body(f"c{index}.test")).status_code == 201
    first = api.get("/certificates?$top=2&api-version=2022-08-01").json()
    assert [entity["name"] for entity in first["value"]] == ["c0", "c1"]
    assert first["count"] == 3
    assert first["nextLink"].startswith("http://testserver/api/certificates?")
    assert "api-version=2022-08-01" in first["nextLink"]
    second = api.get(first["nextLink"].removeprefix("http://testserver/api")).json()
    assert [entity["name"] for entity in second["value"]] == ["c2"]
    assert second["nextLink"] is None
    assert api.get("/certificates?$skip=5").json() == {"value": [], "count": 3, "nextLink": None}


@pytest.mark.parametrize("query", ["$top=0", "$top=1001", "$top=x", "$skip=-1", "$top=\u0661"])
def test_bad_paging_is_refused(api, query):
    response = api.get(f"/certificates?{query}")
    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationError"


def test_get_an_absent_certificate_is_404(api):
    response = api.get("/certificates/nope")
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"


def test_delete(api, certificate):
    response = api.delete("/certificates/orders-client")
    assert response.status_code == 204
    assert not Certificate.objects.exists()
    assert AuditEvent.objects.filter(action="certificate-deleted").exists()
    assert api.delete("/certificates/orders-client").status_code == 404


def test_delete_in_use_is_409_listing_the_apis_and_backends(api, certificate):
    orders = create_api(display_name="Orders", service_url="https://o.test/v1", path="orders")
    set_gateway_credentials(orders, GatewayCredentials("certificate", certificate), version=None)
    save_backend(
        Backend(name="billing", url="https://billing.test"),
        ca_certificates=[],
        client_certificates=[certificate],
    )
    response = api.delete("/certificates/orders-client")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "CertificateInUse"
    targets = {detail["target"]: detail["url"] for detail in error["details"]}
    assert targets == {"API Orders": "/apis/orders/", "Backend billing": "/backends/billing/"}
    assert Certificate.objects.filter(name="orders-client").exists()
    assert AuditEvent.objects.filter(action="certificate-delete-blocked").exists()


def test_wrong_password_points_at_the_password(api, pfx_body):
    body = pfx_body()
    body["properties"]["password"] = "wrong"
    response = api.put("/certificates/orders-client", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidCertificate"
    assert error["details"][0]["target"] == "properties.password"
    assert "password is wrong" in error["message"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("not base64!", "InvalidBase64"),
        ("-----BEGIN CERTIFICATE-----", "InvalidBase64"),
        (b64(b"just some bytes"), "not_pfx"),
        ("", "empty"),
    ],
)
def test_bad_files_are_400(api, data, code):
    response = api.put("/certificates/x", {"properties": {"data": data, "password": "p"}})
    assert response.status_code == 400
    error = error_of(response)
    assert error["details"][0]["target"] == "properties.data"
    assert error["details"][0]["code"].startswith(code)


def test_a_pem_instead_of_base64_gets_a_hint(api):
    response = api.put("/certificates/x", {"properties": {"data": "-----BEGIN CERTIFICATE-----"}})
    assert "Encode the whole file" in error_of(response)["message"]


def test_missing_data_and_wrong_types(api):
    response = api.put("/certificates/x", {"properties": {}})
    assert response.status_code == 400
    assert error_of(response)["details"][0] == {
        "code": "Required",
        "target": "properties.data",
        "message": "properties.data is required.",
    }
    response = api.put("/certificates/x", {"properties": {"data": 42}})
    assert error_of(response)["details"][0]["code"] == "InvalidType"
    response = api.put("/certificates/x", {"properties": {"data": "AAAA", "password": ["p"]}})
    assert error_of(response)["details"][0]["target"] == "properties.password"


def test_an_oversized_file_is_413(api):
    response = api.put("/certificates/x", {"properties": {"data": "A" * 400_000}})
    assert response.status_code == 413
    assert error_of(response)["code"] == "RequestTooLarge"


def test_the_same_certificate_under_another_id_is_409(api, certificate, pfx_body):
    leaf_pfx = pki.make_pfx(pki.make_leaf(pki.make_ca(), "twin.test"))
    body = {"properties": {"data": b64(leaf_pfx), "password": pki.DEFAULT_PASSWORD}}
    assert api.put("/certificates/first", body).status_code == 201
    response = api.put("/certificates/second", body)
    assert response.status_code == 409
    assert error_of(response)["code"] == "DuplicateCertificate"


@pytest.mark.parametrize("name", ["-starts-with-dash", "has space", "a" * 81, "ü"])
def test_invalid_ids_are_400(api, pfx_body, name):
    response = api.put(f"/certificates/{name}", pfx_body())
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidIdentifier"


# CA certificates -----------------------------------------------------------------------------


def test_put_a_ca_certificate_as_pem_or_der(api, administrator):
    issuer = pki.make_ca("Internal Root")
    response = api.put(
        "/caCertificates/internal-root",
        {"properties": {"data": b64(pki.certificate_pem(issuer))}},
    )
    assert response.status_code == 201
    entity = response.json()
    assert entity["id"] == "/caCertificates/internal-root"
    assert entity["type"] == "caCertificates"
    assert entity["properties"]["subject"] == "CN=Internal Root,O=Certificate Portal Tests"
    other = pki.make_ca("Other Root")
    response = api.put(
        "/caCertificates/internal-root",
        {"properties": {"data": b64(pki.certificate_der(other))}},
    )
    assert response.status_code == 200
    assert response.json()["properties"]["thumbprint"] == certificate_thumbprint(other.certificate)
    assert CACertificate.objects.get().subject.startswith("CN=Other Root")
    assert AuditEvent.objects.filter(action="ca-certificate-replaced").exists()
    assert api.get("/caCertificates").json()["count"] == 1


def test_a_ca_certificate_refuses_a_pfx(api, pfx_body):
    body = pfx_body()
    response = api.put("/caCertificates/x", body)
    assert response.status_code == 400
    assert error_of(response)["details"][0]["target"] == "properties.password"
    del body["properties"]["password"]
    response = api.put("/caCertificates/x", body)
    assert response.status_code == 400
    assert error_of(response)["details"][0]["code"] == "pfx"


def test_a_trusted_ca_certificate_cannot_be_deleted(api, ca_certificate):
    save_backend(
        Backend(name="orders", url="https://orders.test"),
        ca_certificates=[ca_certificate],
        client_certificates=[],
    )
    response = api.delete("/caCertificates/internal-root")
    assert response.status_code == 409
    assert error_of(response)["details"][0]["target"] == "Backend orders"
    Backend.objects.all().delete()
    assert api.delete("/caCertificates/internal-root").status_code == 204
    assert AuditEvent.objects.filter(action="ca-certificate-deleted").exists()

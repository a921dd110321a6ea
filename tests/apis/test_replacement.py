"""Deleting a certificate in use warns first; replacing it moves every API and backend at once."""

import pytest

from apis.actions import GatewayCredentials, save_backend, set_gateway_credentials
from apis.models import Backend
from audit.models import Action, AuditEvent
from certificates.models import CACertificate, Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def old(make_certificate):
    return make_certificate("orders-client")


@pytest.fixture
def new(make_certificate):
    return make_certificate("orders-client-2026")


@pytest.fixture
def in_use(api, old):
    """The old certificate presented by an API and by a backend."""
    set_gateway_credentials(api, GatewayCredentials("certificate", old), version=None)
    backend = Backend.objects.create(name="billing-backend", url="https://127.0.0.1:9444")
    save_backend(backend, ca_certificates=[], client_certificates=[old])
    return api, backend


@pytest.fixture
def trusted(make_ca_certificate):
    ca = make_ca_certificate("private-ca")
    backend = Backend.objects.create(name="ledger-backend", url="https://127.0.0.1:9445")
    save_backend(backend, ca_certificates=[ca], client_certificates=[])
    return ca, backend


def test_delete_of_a_certificate_in_use_warns_first(admin_client, in_use, old):
    response = admin_client.get("/certificates/orders-client/delete/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Certificate in use</h1>" in page
    assert "Orders API" in page and "billing-backend" in page
    assert "will be deleted" not in page
    assert "/apis/+replace-certificate/orders-client/" in page
    assert Certificate.objects.filter(pk=old.pk).exists()


def test_delete_of_a_ca_certificate_in_use_warns_first(admin_client, trusted):
    response = admin_client.get("/ca-certificates/private-ca/delete/")
    page = response.content.decode()
    assert "<h1>Certificate in use</h1>" in page and "ledger-backend" in page
    assert "/backends/+replace-ca-certificate/private-ca/" in page
    assert admin_client.get("/backends/+replace-ca-certificate/private-ca/").status_code == 200


def test_an_unused_certificate_still_asks_to_confirm(admin_client, old):
    page = admin_client.get("/certificates/orders-client/delete/").content.decode()
    assert "Certificate in use" not in page
    assert "will be deleted" in page


def test_replace_moves_apis_and_backends_and_frees_the_old_one(admin_client, in_use, old, new):
    api, backend = in_use
    page = admin_client.get("/apis/+replace-certificate/orders-client/").content.decode()
    assert "API Orders API" in page and "Backend billing-backend" in page
    response = admin_client.post(
        "/apis/+replace-certificate/orders-client/", {"certificate": new.name}, follow=True
    )
    message = response.content.decode()
    assert "API Orders API: orders-client → orders-client-2026" in message
    assert "Backend billing-backend: orders-client → orders-client-2026" in message
    api.refresh_from_db()
    assert api.client_certificate == new
    assert list(backend.client_certificates.all()) == [new]
    assert AuditEvent.objects.filter(action=Action.POLICY_CHANGED, object_id=api.name).exists()
    assert AuditEvent.objects.filter(action=Action.BACKEND_CHANGED, object_id=backend.name).exists()
    assert old.usages() == []
    admin_client.post("/certificates/orders-client/delete/")
    assert not Certificate.objects.filter(pk=old.pk).exists()


def test_replace_of_a_ca_swaps_the_trust_in_every_backend(
    admin_client, trusted, make_ca_certificate
):
    ca, backend = trusted
    newer = make_ca_certificate("private-ca-2026")
    response = admin_client.post(
        "/backends/+replace-ca-certificate/private-ca/", {"certificate": newer.name}, follow=True
    )
    assert "Backend ledger-backend: private-ca → private-ca-2026" in response.content.decode()
    assert list(backend.ca_certificates.all()) == [newer]
    admin_client.post("/ca-certificates/private-ca/delete/")
    assert not CACertificate.objects.filter(pk=ca.pk).exists()


def test_replace_needs_a_choice_and_changes_nothing_without_one(admin_client, in_use, old):
    response = admin_client.post("/apis/+replace-certificate/orders-client/", {"certificate": ""})
    assert "Choose the certificate that replaces it." in response.content.decode()
    assert in_use[0].__class__.objects.get(pk=in_use[0].pk).client_certificate == old


def test_reviewers_cannot_replace(reviewer_client, in_use, trusted, new):
    for url in (
        "/apis/+replace-certificate/orders-client/",
        "/backends/+replace-ca-certificate/private-ca/",
    ):
        assert reviewer_client.get(url).status_code == 403
        assert reviewer_client.post(url, {"certificate": new.name}).status_code == 403
    page = reviewer_client.get("/certificates/orders-client/delete/")
    assert page.status_code == 403


def test_a_credentials_change_is_one_clean_audit_entry(api, old, new):
    set_gateway_credentials(api, GatewayCredentials("certificate", old), version=None)
    set_gateway_credentials(api, GatewayCredentials("certificate", new), version=None)
    event = AuditEvent.objects.filter(action=Action.POLICY_CHANGED).first()
    assert event.changes() == [("certificateId", "orders-client", "orders-client-2026")]
    assert event.message == ""

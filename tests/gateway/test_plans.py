"""What each worker keeps per API (gateway.plans); every change is seen on the next call."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apis import actions
from apis.models import Api, Backend, Operation
from certificates.ownership import set_ownership
from gateway import forwarding
from gateway.models import STAMP_ROW, ConfigurationStamp
from gateway.plans import PlanCache
from tests import pki

pytestmark = pytest.mark.django_db

CONFIGURATION_TABLES = (
    "certificates_certificate",
    "apis_operation",
    "apis_backend",
    "apis_backendcacertificate",
    "apis_backendcertificate",
    "certificates_cacertificate",
)


def call(client, path="orders/orders/1"):
    response = client.get(f"/gateway/{path}")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, json.loads(body or b"null")


@pytest.fixture
def ready(admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca):
    server = start_backend()
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    api = make_api(server.url, certificate=client_certificate)
    assert call(admin_client)[0] == 200
    return server, backend, api


def test_a_warm_call_reads_the_api_row_and_nothing_else_of_the_configuration(admin_client, ready):
    with CaptureQueriesContext(connection) as captured:
        assert call(admin_client)[0] == 200
    sql = [query["sql"] for query in captured]
    assert sum('FROM "apis_api"' in query for query in sql) == 1
    assert not [query for query in sql if any(table in query for table in CONFIGURATION_TABLES)]
    assert forwarding.plans.loaded == 1


def test_an_operation_added_or_removed_is_routed_on_the_next_call(admin_client, ready):
    _, _, api = ready
    assert call(admin_client, "orders/customers/7")[1]["error"]["code"] == "operation_not_found"
    Operation.objects.create(
        api=api,
        name="get-customer",
        display_name="Get",
        method="GET",
        url_template="/customers/{id}",
    )
    assert call(admin_client, "orders/customers/7")[0] == 200
    Operation.objects.get(api=api, name="get-customer").delete()
    assert call(admin_client, "orders/customers/7")[0] == 404


def test_backend_tls_settings_and_trust_apply_on_the_next_call(
    admin_client, ready, trusted_ca, client_certificate
):
    _, backend, _ = ready
    actions.save_backend(backend, ca_certificates=[], client_certificates=[])
    assert call(admin_client)[1]["error"]["code"] == "backend_certificate_untrusted"
    backend.validate_certificate_chain = False
    actions.save_backend(backend, ca_certificates=[], client_certificates=[])
    assert call(admin_client)[0] == 200
    backend.validate_certificate_chain = True
    actions.save_backend(backend, ca_certificates=[trusted_ca], client_certificates=[])
    assert call(admin_client)[0] == 200


def test_a_backend_credential_applies_on_the_next_call(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url)
    # No certificate at all: the back end refuses the handshake.
    assert call(admin_client)[0] == 502
    actions.save_backend(
        backend, ca_certificates=[trusted_ca], client_certificates=[client_certificate]
    )
    status, echo = call(admin_client)
    assert status == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_a_ca_certificate_replaced_applies_on_the_next_call(admin_client, ready, server_ca):
    from certificates.actions import import_ca_certificate

    import_ca_certificate(
        "backend-ca", pki.certificate_pem(pki.make_ca("Another CA")), replace=True
    )
    assert call(admin_client)[1]["error"]["code"] == "backend_certificate_untrusted"
    import_ca_certificate("backend-ca", pki.certificate_pem(server_ca), replace=True)
    assert call(admin_client)[0] == 200


def test_an_api_made_without_signals_is_found_and_routed(admin_client, ready):
    server, _, api = ready
    [made] = Api.objects.bulk_create(
        [
            Api(
                name="bulk",
                display_name="Bulk",
                path="bulk",
                service_url=server.url,
                client_certificate=api.client_certificate,
            )
        ]
    )
    Operation.objects.bulk_create(
        [Operation(api=made, name="get", display_name="Get", method="GET", url_template="/x")]
    )
    status, echo = call(admin_client, "bulk/x")
    assert status == 200
    assert echo["path"] == "/x"


def test_owner_and_tags_leave_the_plans_alone(admin_client, ready, client_certificate):
    loaded = forwarding.plans.loaded
    set_ownership(client_certificate, owner="Payments", contact="", tags=["prod"])
    assert call(admin_client)[0] == 200
    assert forwarding.plans.loaded == loaded


def test_without_a_stamp_row_nothing_is_kept(admin_client, ready):
    ConfigurationStamp.objects.all().delete()
    loaded = forwarding.plans.loaded
    for _ in range(2):
        assert call(admin_client)[0] == 200
    assert forwarding.plans.loaded == loaded + 2
    # The next change writes the row again.
    backend = Backend.objects.get()
    backend.save()
    assert ConfigurationStamp.objects.filter(pk=STAMP_ROW).exists()


def test_a_new_stamp_drops_every_plan():
    cache = PlanCache()
    api = Api.objects.create(name="a", display_name="A", path="a", service_url="https://a.test")
    first = cache.get(api, "one")
    assert cache.get(api, "one") is first
    assert cache.get(api, "two") is not first
    assert cache.get(api, None) is not cache.get(api, None)
    assert cache.loaded == 4

"""What each worker keeps in memory (gateway.plans); every change is seen on the next call."""

import asyncio
import datetime as dt
import json
import time

import pytest

from accounts.tokens import issue_token, revoke_token
from apis import actions
from apis.models import Api, Backend, Operation
from certificates.ownership import set_ownership
from gateway.console import run_in_own_loop
from gateway.models import STAMP_ROW, ConfigurationStamp
from gateway.plans import ConfigurationCache
from tests import pki

pytestmark = pytest.mark.django_db(transaction=True)


def call(client, path="orders/orders/1"):
    response = client.get(f"/{path}")
    return response.status_code, json.loads(response.content or b"null")


@pytest.fixture
def ready(caller, start_backend, make_api, make_backend, client_certificate, trusted_ca):
    server = start_backend()
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    api = make_api(server.url, certificate=client_certificate)
    assert call(caller)[0] == 200
    return server, backend, api


def test_a_warm_call_reads_only_the_stamp(caller, gateway, ready):
    configuration = gateway.app.configuration
    before = (configuration.loaded_apis, configuration.loaded_plans, gateway.app.callers.checks)
    for _ in range(3):
        assert call(caller)[0] == 200
    after = (configuration.loaded_apis, configuration.loaded_plans, gateway.app.callers.checks)
    assert after == before


def test_an_operation_added_or_removed_is_routed_on_the_next_call(caller, ready):
    _, _, api = ready
    assert call(caller, "orders/customers/7")[1]["error"]["code"] == "operation_not_found"
    Operation.objects.create(
        api=api,
        name="get-customer",
        display_name="Get",
        method="GET",
        url_template="/customers/{id}",
    )
    assert call(caller, "orders/customers/7")[0] == 200
    Operation.objects.get(api=api, name="get-customer").delete()
    assert call(caller, "orders/customers/7")[0] == 404


def test_backend_tls_settings_and_trust_apply_on_the_next_call(
    caller, ready, trusted_ca, client_certificate
):
    _, backend, _ = ready
    actions.save_backend(backend, ca_certificates=[], client_certificates=[])
    assert call(caller)[1]["error"]["code"] == "backend_certificate_untrusted"
    backend.validate_certificate_chain = False
    actions.save_backend(backend, ca_certificates=[], client_certificates=[])
    assert call(caller)[0] == 200
    backend.validate_certificate_chain = True
    actions.save_backend(backend, ca_certificates=[trusted_ca], client_certificates=[])
    assert call(caller)[0] == 200


def test_a_backend_credential_applies_on_the_next_call(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url)
    # No certificate at all: the back end refuses the handshake.
    assert call(caller)[0] == 502
    actions.save_backend(
        backend, ca_certificates=[trusted_ca], client_certificates=[client_certificate]
    )
    status, echo = call(caller)
    assert status == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_a_ca_certificate_replaced_applies_on_the_next_call(caller, ready, server_ca):
    from certificates.actions import import_ca_certificate

    import_ca_certificate(
        "backend-ca", pki.certificate_pem(pki.make_ca("Another CA")), replace=True
    )
    assert call(caller)[1]["error"]["code"] == "backend_certificate_untrusted"
    import_ca_certificate("backend-ca", pki.certificate_pem(server_ca), replace=True)
    assert call(caller)[0] == 200


def test_an_api_made_without_signals_is_found_and_routed(caller, ready):
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
    status, echo = call(caller, "bulk/x")
    assert status == 200
    assert echo["path"] == "/x"


def test_owner_and_tags_leave_the_plans_alone(caller, gateway, ready, client_certificate):
    loaded = gateway.app.configuration.loaded_plans
    set_ownership(client_certificate, owner="Payments", contact="", tags=["prod"])
    assert call(caller)[0] == 200
    assert gateway.app.configuration.loaded_plans == loaded


def test_without_a_stamp_row_nothing_is_kept(caller, gateway, ready):
    ConfigurationStamp.objects.all().delete()
    loaded = gateway.app.configuration.loaded_plans
    for _ in range(2):
        assert call(caller)[0] == 200
    assert gateway.app.configuration.loaded_plans == loaded + 2
    # The next change writes the row again.
    backend = Backend.objects.get()
    backend.save()
    assert ConfigurationStamp.objects.filter(pk=STAMP_ROW).exists()


def in_own_loop(function):
    return lambda: run_in_own_loop(function())


def test_a_new_stamp_drops_every_plan(db):
    cache = ConfigurationCache()
    Api.objects.create(name="a", display_name="A", path="a", service_url="https://a.test")

    async def plan():
        snapshot = await cache.current()
        api, _ = await cache.find_api(snapshot, "a")
        return await cache.plan(snapshot, api)

    plan = in_own_loop(plan)
    first = plan()
    assert plan() is first
    ConfigurationStamp.renew()
    assert plan() is not first
    assert cache.loaded_plans == 2


def test_concurrent_calls_share_a_stamp_read_that_started_after_them(db):
    reads = []

    async def counting_read():
        reads.append(time.monotonic())
        await asyncio.sleep(0.01)
        return "stamp"

    cache = ConfigurationCache()
    cache._read_stamp = counting_read

    async def burst():
        await asyncio.gather(*(cache.current() for _ in range(20)))

    in_own_loop(burst)()
    assert len(reads) == 1


def test_a_revoked_token_stops_working_within_five_seconds(gateway, administrator, ready):
    api_token, token = issue_token(administrator, "soon revoked")
    client = gateway.client(token)
    assert call(client)[0] == 200
    revoke_token(api_token)
    started = time.monotonic()
    while call(client)[0] == 200:
        assert time.monotonic() - started < 5.5, "the revoked token still works"
        time.sleep(0.25)
    assert call(client)[0] == 401


def test_a_user_deactivated_stops_calling_within_five_seconds(gateway, administrator, ready):
    client = gateway.client(issue_token(administrator, "owner leaves")[1])
    assert call(client)[0] == 200
    administrator.is_active = False
    administrator.save()
    started = time.monotonic()
    while call(client)[0] == 200:
        assert time.monotonic() - started < 5.5, "the deactivated user's token still works"
        time.sleep(0.25)


def test_a_token_stops_at_its_expiry_whatever_the_cache(gateway, administrator, ready):
    from django.utils import timezone

    expires_at = timezone.now() + dt.timedelta(seconds=1.5)
    client = gateway.client(issue_token(administrator, "short", expires_at=expires_at)[1])
    assert call(client)[0] == 200
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.1)
    assert call(client)[0] == 401


def test_a_management_only_token_cannot_call_apis(gateway, administrator, ready):
    from accounts.models import Scope

    token = issue_token(administrator, "rest only", scope=Scope.MANAGEMENT)[1]
    status, error = call(gateway.client(token))
    assert (status, error["error"]["code"]) == (401, "unauthenticated")

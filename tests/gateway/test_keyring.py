"""Key ring rotation covers every stored secret, and gateway calls keep working after it."""

import base64
import json

import pytest
from django.core.management import CommandError, call_command

from apis import actions
from apis.models import Api, Backend
from audit.models import AuditEvent
from certificates.keystore import KeyRing
from certificates.models import Certificate

pytestmark = pytest.mark.django_db(transaction=True)


def call(client, path):
    """A call through the gateway's server (tests/gateway/conftest.py `caller`)."""
    response = client.get(f"/{path}")
    return response, json.loads(response.content)


@pytest.fixture
def basic_and_certificate_apis(
    start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    """API "orders" presents the client certificate; API "stock" sends a Basic password."""
    mutual = start_backend()
    make_backend(mutual.url, ca_certificates=[trusted_ca])
    make_api(mutual.url, certificate=client_certificate)
    plain = start_backend(require_client_certificate=False)
    actions.save_backend(
        Backend(name="stock-backend", url=plain.url),
        ca_certificates=[trusted_ca],
        client_certificates=[],
    )
    api = make_api(f"{plain.url}/stock", path="stock")
    actions.set_gateway_credentials(
        api,
        actions.GatewayCredentials(kind="basic", username="svc", password="s3cret-pässword"),
        version=None,
    )
    return mutual, plain


def key_ids_in_use():
    tokens = [c.encrypted_private_key for c in Certificate.objects.all()]
    tokens += [a.basic_password_encrypted for a in Api.objects.exclude(basic_password_encrypted="")]
    return {token.split(":")[1] for token in tokens}


def expected_basic():
    return "Basic " + base64.b64encode("svc:s3cret-pässword".encode()).decode()


def test_rotation_reencrypts_basic_passwords_so_the_old_key_can_go(
    caller, settings, basic_and_certificate_apis, capsys
):
    old_ring = KeyRing.parse(settings.PORTAL_KEYRING)
    assert key_ids_in_use() == {old_ring.current_key_id}
    new_ring = old_ring.with_new_key()
    settings.PORTAL_KEYRING = new_ring.serialize()

    call_command("rotate_keyring")

    out = capsys.readouterr().out
    assert "1 private key(s) re-encrypted; 1 Basic password(s) re-encrypted" in out
    assert key_ids_in_use() == {new_ring.current_key_id}
    event = AuditEvent.objects.get(action="keyring-rotated")
    assert event.object_id == new_ring.current_key_id
    assert "1 Basic password(s)" in event.message

    # The old key is retired: both kinds of call still work.
    settings.PORTAL_KEYRING = new_ring.without(old_ring.current_key_id).serialize()
    response, echo = call(caller, "stock/orders/1")
    assert response.status_code == 200, echo
    assert echo["headers"]["authorization"] == expected_basic()
    response, echo = call(caller, "orders/orders/1")
    assert response.status_code == 200
    assert echo["client_certificate"] is not None

    call_command("rotate_keyring")
    assert "0 private key(s) re-encrypted; 0 Basic password(s)" in capsys.readouterr().out


def test_rotation_changes_nothing_when_a_secret_does_not_decrypt(
    settings, basic_and_certificate_apis
):
    before = key_ids_in_use()
    settings.PORTAL_KEYRING = KeyRing.generate_entry("unrelated")
    with pytest.raises(CommandError, match=r"cannot be decrypted.*Nothing was re-encrypted"):
        call_command("rotate_keyring")
    assert key_ids_in_use() == before
    assert not AuditEvent.objects.filter(action="keyring-rotated").exists()


def test_an_undecryptable_basic_password_is_a_gateway_failure_not_a_page(
    caller, settings, basic_and_certificate_apis
):
    _, plain = basic_and_certificate_apis
    settings.PORTAL_KEYRING = KeyRing.generate_entry("other")
    response, error = call(caller, "stock/orders/1")
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert error["error"]["code"] == "basic_password_unavailable"
    assert "Basic password of API api-stock cannot be decrypted" in error["error"]["message"]
    assert "PORTAL_KEYRING" in error["error"]["message"]
    assert plain.connections == 0

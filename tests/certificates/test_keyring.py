"""The key ring against the stored secrets: a lost or replaced ring is refused."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from apis import actions
from certificates import keyring
from certificates.actions import import_certificate
from certificates.keystore import KeyRing
from tests import pki

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(settings):
    """A private key and a Basic password, both under the configured ring."""
    leaf = pki.make_leaf(pki.make_ca(), "client.example.test")
    import_certificate("c1", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    api = actions.create_api(display_name="Stock", service_url="https://127.0.0.1:9", path="s")
    actions.set_gateway_credentials(
        api,
        actions.GatewayCredentials(kind="basic", username="svc", password="pw"),
        version=None,
    )
    return KeyRing.parse(settings.PORTAL_KEYRING)


def test_every_encrypted_column_is_known():
    found = {(model.__name__, column.field) for model, column in keyring.encrypted_columns()}
    assert found == {("Certificate", "encrypted_private_key"), ("Api", "basic_password_encrypted")}


def test_a_fresh_database_passes_with_any_ring(settings):
    settings.PORTAL_KEYRING = KeyRing.generate_entry()
    assert keyring.stored_data_problem() is None
    keyring.verify_stored_data()


def test_the_ring_the_data_was_written_under_passes(stored):
    assert keyring.stored_data_problem() is None


def test_a_rotated_ring_passes(settings, stored):
    settings.PORTAL_KEYRING = stored.with_new_key().serialize()
    assert keyring.stored_data_problem() is None


def test_a_new_ring_in_place_of_a_lost_one_is_refused(settings, stored):
    settings.PORTAL_KEYRING = KeyRing.generate_entry("knew")
    with pytest.raises(ImproperlyConfigured) as refused:
        keyring.verify_stored_data()
    message = str(refused.value)
    assert "cannot be decrypted with the configured key ring" in message
    assert "1 private key(s) are encrypted under key" in message
    assert repr(stored.current_key_id) in message
    assert "holds only 'knew'" in message
    assert "PORTAL_KEYRING_FILE" in message
    assert str(settings.DATA_DIR / "keyring") in message


def test_a_replaced_ring_with_the_same_key_id_is_refused(settings, stored):
    settings.PORTAL_KEYRING = KeyRing.generate_entry(stored.current_key_id)
    with pytest.raises(ImproperlyConfigured, match="not the one the stored secrets were written"):
        keyring.verify_stored_data()


def test_basic_passwords_alone_are_enough_to_refuse(settings, stored):
    from certificates.models import Certificate

    Certificate.objects.all().delete()
    settings.PORTAL_KEYRING = KeyRing.generate_entry("knew")
    with pytest.raises(ImproperlyConfigured, match=r"1 Basic password\(s\) are encrypted"):
        keyring.verify_stored_data()


def test_secrets_under_a_dropped_key_do_not_stop_the_portal_when_others_decrypt(settings, stored):
    rotated = stored.with_new_key()
    settings.PORTAL_KEYRING = rotated.serialize()
    leaf = pki.make_leaf(pki.make_ca(), "two.example.test")
    import_certificate("c2", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    # The old key dropped before rotate_keyring ran: the ring is the right one; the gateway
    # refuses the calls that need the two secrets it cannot read (tests/gateway/test_keyring.py).
    settings.PORTAL_KEYRING = rotated.without(stored.current_key_id).serialize()
    assert keyring.stored_data_problem() is None


def test_the_check_reads_a_few_rows_whatever_the_inventory(settings, stored):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        keyring.stored_data_problem()
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) <= 3  # the table names, then one row per encrypted column
    assert all("LIMIT 1" in sql for sql in statements[1:])


def test_manage_py_commands_meet_it_as_a_system_check(settings, stored):
    assert keyring.check_stored_data() == []
    settings.PORTAL_KEYRING = KeyRing.generate_entry("knew")
    [error] = keyring.check_stored_data()
    assert error.id == "certificates.E001"
    assert "cannot be decrypted" in error.msg

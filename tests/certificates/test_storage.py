"""Private keys at rest: encrypted, bound to their row, rotatable; PFX and password never kept."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.management import call_command

from certificates.actions import import_certificate
from certificates.keystore import DecryptionError, KeyRing
from certificates.models import Certificate
from tests import pki

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def store(name, common_name="client.example.test"):
    leaf = pki.make_leaf(pki.make_ca(), common_name)
    result = import_certificate(name, pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    return result.certificate, leaf


def pkcs8(leaf):
    return leaf.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def test_the_private_key_is_encrypted_and_decrypts_to_the_original():
    certificate, leaf = store("c1")
    assert certificate.encrypted_private_key.startswith("v1:")
    assert b"PRIVATE KEY" not in certificate.encrypted_private_key.encode()
    assert Certificate.objects.get(name="c1").private_key_der() == pkcs8(leaf)


def test_a_ciphertext_copied_onto_another_row_does_not_decrypt():
    first, _ = store("c1", "one.example.test")
    second, _ = store("c2", "two.example.test")
    second.encrypted_private_key = first.encrypted_private_key
    with pytest.raises(DecryptionError):
        second.private_key_der()


def test_rotate_keyring_reencrypts_so_the_old_key_can_go(settings, capsys):
    store("c1", "one.example.test")
    store("c2", "two.example.test")
    old_ring = KeyRing.parse(settings.PORTAL_KEYRING)
    new_ring = old_ring.with_new_key()
    settings.PORTAL_KEYRING = new_ring.serialize()
    call_command("rotate_keyring")
    assert "2 private key(s) re-encrypted" in capsys.readouterr().out

    settings.PORTAL_KEYRING = new_ring.without(old_ring.current_key_id).serialize()
    for certificate in Certificate.objects.all():
        assert certificate.encrypted_private_key.split(":")[1] == new_ring.current_key_id
        assert certificate.private_key_der()
    call_command("rotate_keyring")
    assert "0 private key(s)" in capsys.readouterr().out


def test_the_portal_refuses_to_start_without_a_key_ring(settings):
    from django.core.exceptions import ImproperlyConfigured

    from certificates import keyring

    settings.PORTAL_KEYRING = ""
    with pytest.raises(ImproperlyConfigured, match="never stores a private key in clear"):
        keyring.check_configured()
    settings.PORTAL_KEYRING = "k1:not-base64!"
    with pytest.raises(ImproperlyConfigured, match="PORTAL_KEYRING is not usable"):
        keyring.check_configured()


def test_the_database_file_holds_no_private_key_nor_password(tmp_path):
    """Import through the real command into a real SQLite file, then read the file's bytes."""
    password = "Pässwörd-only-in-transit"
    leaf = pki.make_leaf(pki.make_ca(), "file.example.test")
    pfx = tmp_path / "client.pfx"
    pfx.write_bytes(pki.make_pfx(leaf, password))
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path / "data")}
    env.pop("PORTAL_KEYRING", None)
    env.pop("DATABASE_URL", None)  # this test is about the SQLite file

    def manage(*args, stdin=""):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )

    manage("migrate", "-v0")
    result = manage(
        "certificates",
        "import",
        "--id",
        "file-cert",
        "--file",
        str(pfx),
        "--password-stdin",
        stdin=password + "\n",
    )
    assert "Imported file-cert" in result.stdout
    assert "file-cert" in manage("certificates", "list").stdout

    database = tmp_path / "data" / "portal.sqlite3"
    with sqlite3.connect(database) as connection:  # fold the WAL into the main file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("portal.sqlite3*"))
    assert b"file.example.test" in raw  # the certificate itself is there
    assert b"PRIVATE KEY" not in raw
    assert pkcs8(leaf) not in raw
    assert password.encode() not in raw
    assert pfx.read_bytes() not in raw
    for path in (tmp_path / "data").iterdir():
        assert oct(path.stat().st_mode & 0o777) == "0o600", path

import base64
import re

import pytest

from certificates.keystore import DecryptionError, KeyRing, KeyRingError

AAD = b"certificate:1:private-key"


def key_text(byte: int, length: int = 32) -> str:
    return base64.b64encode(bytes([byte]) * length).decode()


@pytest.fixture
def ring():
    return KeyRing.parse(f"k2:{key_text(2)},k1:{key_text(1)}")


def flip_ciphertext_byte(token: str, index: int) -> str:
    head, ciphertext = token.rsplit(":", 1)
    data = bytearray(base64.urlsafe_b64decode(ciphertext + "=" * (-len(ciphertext) % 4)))
    data[index] ^= 0x01
    return f"{head}:{base64.urlsafe_b64encode(bytes(data)).rstrip(b'=').decode()}"


def test_it_round_trips(ring):
    token = ring.encrypt(b"-----BEGIN PRIVATE KEY-----", AAD)
    assert token.isascii()
    assert ring.decrypt(token, AAD) == b"-----BEGIN PRIVATE KEY-----"


def test_it_round_trips_empty_plaintext(ring):
    assert ring.decrypt(ring.encrypt(b"", AAD), AAD) == b""


def test_token_describes_itself(ring):
    version, key_id, nonce, ciphertext = ring.encrypt(b"secret", AAD).split(":")
    assert version == "v1"
    assert key_id == "k2"
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert len(base64.urlsafe_b64decode(ciphertext + "==")) == len(b"secret") + 16


def test_it_encrypts_under_the_newest_key(ring):
    assert ring.current_key_id == "k2"
    assert ring.key_ids == ("k2", "k1")
    assert ring.key_id_of(ring.encrypt(b"x", AAD)) == "k2"


def test_two_encryptions_differ(ring):
    first = ring.encrypt(b"same", AAD)
    second = ring.encrypt(b"same", AAD)
    assert first != second
    assert first.split(":")[2] != second.split(":")[2]


@pytest.mark.parametrize("index", [0, 5, -1])
def test_it_rejects_a_tampered_byte(ring, index):
    token = ring.encrypt(b"private key bytes", AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(flip_ciphertext_byte(token, index), AAD)


def test_it_rejects_a_tampered_character(ring):
    token = ring.encrypt(b"private key bytes", AAD)
    for position in range(len("v1:k2:"), len(token)):
        if token[position] == ":":
            continue
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1 :]
        with pytest.raises(DecryptionError):
            ring.decrypt(tampered, AAD)


def test_it_rejects_a_token_moved_to_another_key_id(ring):
    token = ring.encrypt(b"x", AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(token.replace("v1:k2:", "v1:k1:"), AAD)


def test_it_rejects_other_associated_data(ring):
    token = ring.encrypt(b"x", AAD)
    with pytest.raises(DecryptionError, match="altered or belongs to other data"):
        ring.decrypt(token, b"certificate:2:private-key")


def test_it_rejects_an_unknown_key_id(ring):
    token = ring.encrypt(b"x", AAD)
    with pytest.raises(DecryptionError, match="'k2'"):
        ring.without("k2").decrypt(token, AAD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "v1:k2:abc",
        "v2:k2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "v1:k 2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "v1:k2:AAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "v1:k2:AAAAAAAAAAAAAAAA:AAAA",
        "v1:k2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:k2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAA+",
        "v1:k2:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAé",
    ],
)
def test_it_rejects_malformed_tokens(ring, token):
    with pytest.raises(DecryptionError):
        ring.decrypt(token, AAD)


def test_it_rejects_non_text_tokens(ring):
    with pytest.raises(DecryptionError):
        ring.decrypt(b"v1:k2:x:y", AAD)


def test_rotation(ring):
    old = KeyRing.parse(f"k1:{key_text(1)}")
    token = old.encrypt(b"private key", AAD)

    rotated = old.with_new_key()
    assert rotated.key_ids[1:] == ("k1",)
    assert rotated.needs_reencryption(token)
    reencrypted = rotated.reencrypt(token, AAD)
    assert not rotated.needs_reencryption(reencrypted)
    assert rotated.key_id_of(reencrypted) == rotated.current_key_id

    retired = rotated.without("k1")
    assert retired.decrypt(reencrypted, AAD) == b"private key"
    with pytest.raises(DecryptionError):
        retired.decrypt(token, AAD)


def test_reencrypt_authenticates_first(ring):
    token = ring.encrypt(b"x", AAD)
    with pytest.raises(DecryptionError):
        ring.reencrypt(token, b"other")


def test_with_new_key_accepts_an_entry(ring):
    rotated = ring.with_new_key(f"k3:{key_text(3)}")
    assert rotated.key_ids == ("k3", "k2", "k1")
    assert ring.key_ids == ("k2", "k1")


def test_with_new_key_refuses_a_duplicate_id(ring):
    with pytest.raises(KeyRingError, match="more than once"):
        ring.with_new_key(f"k1:{key_text(3)}")


def test_without_refuses_unknown_ids_and_the_last_key(ring):
    with pytest.raises(KeyRingError, match="'k9' is not in the key ring"):
        ring.without("k9")
    with pytest.raises(KeyRingError, match="empty"):
        ring.without("k1").without("k2")


def test_generate_entry():
    entry = KeyRing.generate_entry()
    key_id, _, key = entry.partition(":")
    assert key_id.startswith("k2")
    assert len(base64.b64decode(key)) == 32
    assert KeyRing.parse(entry).key_ids == (key_id,)
    assert KeyRing.generate_entry() != entry
    assert KeyRing.generate_entry("primary").startswith("primary:")


def test_generate_entry_ids_differ_within_a_second():
    ids = {KeyRing.generate_entry().partition(":")[0] for _ in range(20)}
    assert len(ids) == 20


def test_serialize_round_trips(ring):
    assert KeyRing.parse(ring.serialize()).serialize() == ring.serialize()
    assert ring.serialize() == f"k2:{key_text(2)},k1:{key_text(1)}"


def test_parse_tolerates_whitespace_and_urlsafe_unpadded_keys():
    urlsafe = base64.urlsafe_b64encode(b"\xff" * 32).rstrip(b"=").decode()
    ring = KeyRing.parse(f"  k2 : {urlsafe} ,\n k1:{key_text(1)},\n")
    assert ring.key_ids == ("k2", "k1")
    assert ring.decrypt(ring.encrypt(b"x", AAD), AAD) == b"x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        (key_text(1), "entry 1 is not in the form id:base64key"),
        (f"k1:{key_text(1)},:{key_text(2)}", "entry 2 is not in the form id:base64key"),
        ("k1:", "entry 1 is not in the form id:base64key"),
        (f"k/1:{key_text(1)}", "entry 1 has an invalid key id"),
        (f"{'k' * 65}:{key_text(1)}", "entry 1 has an invalid key id"),
        ("k1:not*base64!", "'k1' (entry 1) is not valid base64"),
        (f"k1:{key_text(1, 16)}", "'k1' is 16 bytes long; AES-256 needs 32 bytes"),
        (f"k1:{key_text(1, 33)}", "'k1' is 33 bytes long"),
        (f"k1:{key_text(1)},k1:{key_text(2)}", "'k1' appears more than once"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(KeyRingError, match=re.escape(message)) as excinfo:
        KeyRing.parse(text)
    for byte in (1, 2):
        assert key_text(byte) not in str(excinfo.value)
        assert key_text(byte, 16) not in str(excinfo.value)


def test_repr_hides_keys(ring):
    text = repr(ring)
    assert text == "KeyRing(key_ids=('k2', 'k1'))"
    assert str(ring) == text
    assert key_text(1) not in text
    assert "\\x01" not in text

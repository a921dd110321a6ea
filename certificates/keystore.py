"""Authenticated encryption of private keys at rest, under a rotating key ring.

A key ring is configured as ``"id1:base64key,id2:base64key"``, newest key first. New data is always
encrypted under the first key; older keys stay only to decrypt until everything is re-encrypted.

A token is ASCII text ``v1:<key id>:<nonce>:<ciphertext>``, the last two in unpadded base64url;
the ciphertext ends with the 16-byte GCM tag. GCM authenticates the ``v1:<key id>:`` header and
the caller's associated data (which row and column the token belongs to). The associated data is
not stored, so a token copied to another row does not decrypt.
"""

import base64
import binascii
import os
import re
import secrets
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyRingError(Exception):
    """The key ring configuration is unusable."""


class DecryptionError(Exception):
    """A token cannot be decrypted with this key ring and associated data."""


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Reject non-canonical spellings so that every change to the text is a change to the bytes.
    if _b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _decode_key(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def token_prefix(key_id: str) -> str:
    """How every token encrypted under ``key_id`` begins (a database can filter on it)."""
    return f"{VERSION}:{key_id}:"


class KeyRing:
    __slots__ = ("_keys",)

    def __init__(self, keys):
        """``keys``: (key id, 32-byte key) pairs, newest first."""
        keys = tuple((key_id, bytes(key)) for key_id, key in keys)
        if not keys:
            raise KeyRingError("The key ring is empty: configure at least one key.")
        seen = set()
        for key_id, key in keys:
            if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyRingError(
                    f"Key id {key_id!r} is invalid: use 1 to 64 letters, digits, '.', '_' or '-'."
                )
            if key_id in seen:
                raise KeyRingError(f"Key id {key_id!r} appears more than once in the key ring.")
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"Key {key_id!r} is {len(key)} bytes long; AES-256 needs {KEY_BYTES} bytes."
                )
            seen.add(key_id)
        self._keys = keys

    @classmethod
    def parse(cls, text: str) -> "KeyRing":
        entries = [entry.strip() for entry in text.split(",")]
        keys = []
        for position, entry in enumerate(entries, start=1):
            if not entry:
                continue
            # The entry may be key material, so messages name its position, never its text.
            key_id, colon, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not colon or not key_id or not encoded.strip():
                raise KeyRingError(f"Key ring entry {position} is not in the form id:base64key.")
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyRingError(
                    f"Key ring entry {position} has an invalid key id: use 1 to 64 letters, "
                    "digits, '.', '_' or '-'."
                )
            try:
                key = _decode_key(encoded)
            except (binascii.Error, ValueError):
                raise KeyRingError(
                    f"Key {key_id!r} (entry {position}) is not valid base64."
                ) from None
            keys.append((key_id, key))
        return cls(keys)

    @staticmethod
    def generate_entry(key_id: str | None = None) -> str:
        if key_id is None:
            # Sortable by creation time; the random suffix keeps two rotations in one second apart.
            key_id = f"k{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise KeyRingError(
                f"Key id {key_id!r} is invalid: use 1 to 64 letters, digits, '.', '_' or '-'."
            )
        return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"

    def serialize(self) -> str:
        return ",".join(
            f"{key_id}:{base64.b64encode(key).decode('ascii')}" for key_id, key in self._keys
        )

    def with_new_key(self, entry: str | None = None) -> "KeyRing":
        new = KeyRing.parse(entry if entry is not None else self.generate_entry())
        if len(new._keys) != 1:
            raise KeyRingError("A new key must be a single id:base64key entry.")
        return KeyRing(new._keys + self._keys)

    def without(self, key_id: str) -> "KeyRing":
        if key_id not in self.key_ids:
            raise KeyRingError(f"Key id {key_id!r} is not in the key ring.")
        return KeyRing(tuple(pair for pair in self._keys if pair[0] != key_id))

    @property
    def current_key_id(self) -> str:
        return self._keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={self.key_ids!r})"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> str:
        key_id, key = self._keys[0]
        header = token_prefix(key_id)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, header.encode() + associated_data)
        return f"{header}{_b64url_encode(nonce)}:{_b64url_encode(ciphertext)}"

    def decrypt(self, token: str, associated_data: bytes) -> bytes:
        key_id, nonce, ciphertext = self._split(token)
        keys = dict(self._keys)
        if key_id not in keys:
            raise DecryptionError(f"The token was encrypted under key {key_id!r}, not in the ring.")
        header = token_prefix(key_id)
        try:
            return AESGCM(keys[key_id]).decrypt(
                nonce, ciphertext, header.encode() + associated_data
            )
        except InvalidTag:
            raise DecryptionError(
                "The token failed authentication: it was altered or belongs to other data."
            ) from None

    def key_id_of(self, token: str) -> str:
        return self._split(token)[0]

    def needs_reencryption(self, token: str) -> bool:
        return self.key_id_of(token) != self.current_key_id

    def reencrypt(self, token: str, associated_data: bytes) -> str:
        """Decrypt (authenticating) and encrypt again under the current key with a fresh nonce."""
        return self.encrypt(self.decrypt(token, associated_data), associated_data)

    @staticmethod
    def _split(token: str) -> tuple[str, bytes, bytes]:
        if not isinstance(token, str):
            raise DecryptionError("The token is not text.")
        parts = token.split(":")
        if len(parts) != 4:
            raise DecryptionError("The token is malformed.")
        version, key_id, nonce_text, ciphertext_text = parts
        if version != VERSION:
            raise DecryptionError("The token has an unsupported format version.")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise DecryptionError("The token has a malformed key id.")
        try:
            nonce = _b64url_decode(nonce_text)
            ciphertext = _b64url_decode(ciphertext_text)
        except (binascii.Error, ValueError):
            raise DecryptionError("The token is malformed.") from None
        if len(nonce) != NONCE_BYTES or len(ciphertext) < TAG_BYTES:
            raise DecryptionError("The token is malformed.")
        return key_id, nonce, ciphertext

"""PKCS#12 files that no ordinary tool writes, assembled by hand for the refusal tests.

Hostile files (forged iteration counts, oversized keys, two keys), broken ones (truncated, damaged,
a wrong version) and unusual ones that real tools do write (BER with indefinite lengths,
unencrypted key bags). They edit the DER of good files from tests/pki.py with a tiny encoder kept
here on purpose, so that the fixtures do not depend on the code they test.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.pki import DEFAULT_PASSWORD, Leaf, make_pfx

# A tiny DER encoder and splitter, for the broken files below ----------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _split(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Consecutive definite-length elements as (tag, content, whole encoding)."""
    items = []
    offset = 0
    while offset < len(data):
        tag, first = data[offset], data[offset + 1]
        position = offset + 2
        if first & 0x80:
            size = first & 0x7F
            length = int.from_bytes(data[position : position + size], "big")
            position += size
        else:
            length = first
        end = position + length
        items.append((tag, data[position:end], data[offset:end]))
        offset = end
    return items


@dataclass(frozen=True)
class _Pfx:
    auth_safe_type: bytes  # the encoded OBJECT IDENTIFIER of the authSafe ContentInfo
    content_infos: list[bytes]  # encoded ContentInfo elements of the AuthenticatedSafe
    mac_data: bytes | None


def _open(pfx: bytes) -> _Pfx:
    [(_, outer, _)] = _split(pfx)
    _version, (_, auth_safe, _), *rest = _split(outer)
    (_, _, oid), (_, explicit, _) = _split(auth_safe)
    [(_, safe, _)] = _split(explicit)
    [(_, sequence, _)] = _split(safe)
    infos = [whole for _, _, whole in _split(sequence)]
    return _Pfx(oid, infos, rest[0][2] if rest else None)


_OIDS = {
    "data": "06092A864886F70D010701",
    "key_bag": "060B2A864886F70D010C0A0101",
    "shrouded_key_bag": "060B2A864886F70D010C0A0102",
    "certificate_bag": "060B2A864886F70D010C0A0103",
    "x509_certificate": "060A2A864886F70D01091601",
    "pbes2": "06092A864886F70D01050D",
    "pbkdf2": "06092A864886F70D01050C",
    "pbmac1": "06092A864886F70D01050E",
    "scrypt": "06092B06010401DA47040B",
    "hmac_sha256": "06082A864886F70D0209",
    "aes256_cbc": "060960864801650304012A",
    "sha256": "0609608648016503040201",
}


def _oid(name: str) -> bytes:
    return bytes.fromhex(_OIDS[name])


def _pkcs12_kdf(password: str, salt: bytes, purpose: int, iterations: int, size: int) -> bytes:
    """RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64)."""
    block = 64
    secret = (password.encode("utf-16-be") + b"\0\0") if password else b""

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = block * -(-len(value) // block)
        return (value * (length // len(value) + 1))[:length]

    diversifier = bytes([purpose]) * block
    material = bytearray(stretch(salt) + stretch(secret))
    out = b""
    while len(out) < size:
        digest = hashlib.sha256(diversifier + material).digest()
        for _ in range(iterations - 1):
            digest = hashlib.sha256(digest).digest()
        out += digest
        addend = int.from_bytes(stretch(digest), "big") + 1
        for start in range(0, len(material), block):
            piece = int.from_bytes(material[start : start + block], "big") + addend
            material[start : start + block] = (piece % (1 << (8 * block))).to_bytes(block, "big")
    return out[:size]


def _mac_data(password: str, content: bytes, iterations: int = 2048) -> bytes:
    salt = os.urandom(8)
    key = _pkcs12_kdf(password, salt, 3, iterations, 32)
    digest = hmac.new(key, content, hashlib.sha256).digest()
    algorithm = _tlv(0x30, _oid("sha256") + b"\x05\x00")
    digest_info = _tlv(0x30, algorithm + _tlv(0x04, digest))
    return _tlv(0x30, digest_info + _tlv(0x04, salt) + _integer(iterations))


def assemble_pfx(content_infos: Iterable[bytes], password: str | None) -> bytes:
    """A PFX made of the given ContentInfo elements, with a SHA-256 MAC unless password is None."""
    auth_safe_content = _tlv(0x30, b"".join(content_infos))
    auth_safe = _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, auth_safe_content)))
    mac = _mac_data(password, auth_safe_content) if password is not None else b""
    return _tlv(0x30, _integer(3) + auth_safe + mac)


def combine_pfx(*files: bytes, password: str | None = DEFAULT_PASSWORD) -> bytes:
    """One PFX holding the contents of all files (each must use the same password)."""
    return assemble_pfx([info for pfx in files for info in _open(pfx).content_infos], password)


def _replace_mac_data(pfx: bytes, mac_data: bytes) -> bytes:
    [(_, outer, _)] = _split(pfx)
    version, auth_safe, *_rest = _split(outer)
    return _tlv(0x30, version[2] + auth_safe[2] + mac_data)


def _safe_bag(kind: str, value: bytes) -> bytes:
    return _tlv(0x30, _oid(kind) + _tlv(0xA0, value))


def _certificate_bag(certificate: x509.Certificate) -> bytes:
    value = _tlv(0xA0, _tlv(0x04, certificate.public_bytes(serialization.Encoding.DER)))
    return _safe_bag("certificate_bag", _tlv(0x30, _oid("x509_certificate") + value))


def _data_content_info(bags: Iterable[bytes]) -> bytes:
    return _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, _tlv(0x30, b"".join(bags)))))


def make_plain_pfx(
    certificate: x509.Certificate | None, key_der: bytes | None, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX with an unencrypted key bag holding key_der (any bytes) and a plain certificate bag.

    Some tools write such files; the tests also use it for keys cryptography cannot write.
    """
    bags = [_safe_bag("key_bag", key_der)] if key_der is not None else []
    bags += [_certificate_bag(certificate)] if certificate is not None else []
    return assemble_pfx([_data_content_info(bags)], password)


def pbes2_algorithm(iterations: int) -> bytes:
    """An AlgorithmIdentifier for PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC."""
    prf = _tlv(0x30, _oid("hmac_sha256") + b"\x05\x00")
    kdf_parameters = _tlv(0x30, _tlv(0x04, bytes(16)) + _integer(iterations) + prf)
    kdf = _tlv(0x30, _oid("pbkdf2") + kdf_parameters)
    scheme = _tlv(0x30, _oid("aes256_cbc") + _tlv(0x04, bytes(16)))
    return _tlv(0x30, _oid("pbes2") + _tlv(0x30, kdf + scheme))


def scrypt_algorithm(cost: int, block_size: int = 8, parallel: int = 1) -> bytes:
    """An AlgorithmIdentifier for PBES2 with scrypt and AES-256-CBC."""
    parameters = _tlv(0x04, bytes(16)) + b"".join(
        _integer(value) for value in (cost, block_size, parallel, 32)
    )
    kdf = _tlv(0x30, _oid("scrypt") + _tlv(0x30, parameters))
    scheme = _tlv(0x30, _oid("aes256_cbc") + _tlv(0x04, bytes(16)))
    return _tlv(0x30, _oid("pbes2") + _tlv(0x30, kdf + scheme))


def make_pfx_with_shrouded_key(
    certificate: x509.Certificate, algorithm: bytes, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX whose encrypted key uses the given AlgorithmIdentifier (the ciphertext is junk)."""
    key = _safe_bag("shrouded_key_bag", _tlv(0x30, algorithm + _tlv(0x04, bytes(64))))
    return assemble_pfx([_data_content_info([key, _certificate_bag(certificate)])], password)


def make_pfx_with_pbmac1(leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD) -> bytes:
    """A PFX whose MacData uses PBMAC1 (RFC 9579) with the given PBKDF2 iterations (MAC is junk)."""
    hmac_sha256 = _tlv(0x30, _oid("hmac_sha256") + b"\x05\x00")
    kdf_parameters = _tlv(0x30, _tlv(0x04, bytes(16)) + _integer(iterations) + _integer(32))
    kdf = _tlv(0x30, _oid("pbkdf2") + kdf_parameters)
    algorithm = _tlv(0x30, _oid("pbmac1") + _tlv(0x30, kdf + hmac_sha256))
    digest_info = _tlv(0x30, algorithm + _tlv(0x04, bytes(32)))
    mac_data = _tlv(0x30, digest_info + _tlv(0x04, bytes(8)) + _integer(1))
    return _replace_mac_data(make_pfx(leaf, password), mac_data)


# Broken and refused files -------------------------------------------------------------------


def make_key_only_pfx(leaf: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    return make_pfx(leaf, password, include_certificate=False)


def make_certificate_only_pfx(
    leaf: Leaf, password: str = DEFAULT_PASSWORD, *, chain: Iterable = ()
) -> bytes:
    return make_pfx(leaf, password, chain=chain, include_key=False)


def make_mismatched_pfx(leaf: Leaf, other: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """The certificate of leaf with the private key of other (cryptography refuses to write it)."""
    return combine_pfx(
        make_certificate_only_pfx(leaf, password),
        make_key_only_pfx(other, password),
        password=password,
    )


def make_two_key_pfx(leaf: Leaf, other: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """Two certificates, each with its private key, in one file."""
    return combine_pfx(make_pfx(leaf, password), make_pfx(other, password), password=password)


def make_pfx_with_mac_iterations(
    leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX whose MAC claims the given iteration count (the MAC itself is not recomputed)."""
    pfx = make_pfx(leaf, password)
    [(_, outer, _)] = _split(pfx)
    mac_data = _split(outer)[2][1]
    digest_info, salt, _iterations = _split(mac_data)
    return _replace_mac_data(pfx, _tlv(0x30, digest_info[2] + salt[2] + _integer(iterations)))


_MARKER_ROUNDS = 0x010101  # encodes as 02 03 01 01 01: easy to find, cheap to compute


def make_pfx_with_encryption_iterations(
    leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD, *, copies: int = 1
) -> bytes:
    """A PFX whose encrypted parts claim the given iteration count; copies repeats them.

    iterations must encode in three bytes (32768 to 8388607). The MAC stays valid: the iteration
    counts sit inside the MAC-protected content, so the MAC is recomputed.
    """
    marker = _integer(_MARKER_ROUNDS)
    replacement = _integer(iterations)
    if len(replacement) != len(marker):
        raise ValueError("iterations must encode in three bytes")
    pfx = make_pfx(leaf, password, iterations=_MARKER_ROUNDS)
    infos = _open(pfx).content_infos
    patched = [info.replace(marker, replacement) for info in infos]
    if sum(info.count(marker) for info in infos) != 2:
        raise AssertionError("expected two encrypted parts (certificates and key)")
    return assemble_pfx(patched * copies, password)


def make_ber_pfx(leaf: Leaf, password: str = DEFAULT_PASSWORD, *, chunk: int = 1000) -> bytes:
    """A PFX in BER as Windows and NSS write them: indefinite lengths, a chunked OCTET STRING."""
    pfx = _open(make_pfx(leaf, password))
    content = _tlv(0x30, b"".join(pfx.content_infos))
    pieces = b"".join(_tlv(0x04, content[i : i + chunk]) for i in range(0, len(content), chunk))
    octets = b"\x24\x80" + pieces + b"\0\0"
    auth_safe = b"\x30\x80" + pfx.auth_safe_type + b"\xa0\x80" + octets + b"\0\0\0\0"
    return b"\x30\x80" + _integer(3) + auth_safe + (pfx.mac_data or b"") + b"\0\0"


def make_pfx_with_version(leaf: Leaf, version: int, password: str = DEFAULT_PASSWORD) -> bytes:
    [(_, outer, _)] = _split(make_pfx(leaf, password))
    _version, *rest = _split(outer)
    return _tlv(0x30, _integer(version) + b"".join(whole for _, _, whole in rest))


def make_pfx_with_damaged_content(leaf: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """A PFX whose outer structure is fine but whose AuthenticatedSafe is not DER at all."""
    garbage = random.Random(7).randbytes(64)
    auth_safe = _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, b"\x30\x05" + garbage)))
    return _tlv(0x30, _integer(3) + auth_safe)


def random_bytes(size: int = 2048, seed: int = 1) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    data[0] = 0x8F  # never a SEQUENCE, so the result does not depend on the seed's luck
    return bytes(data)


def truncate(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def append_trailing_bytes(data: bytes, extra: bytes = b"\x00trailing garbage\n") -> bytes:
    return data + extra


# A key hidden in an encrypted part ------------------------------------------------------------

_ENCRYPTED_DATA = "06092A864886F70D010706"


def make_pfx_with_key_in_encrypted_part(
    leaf: Leaf, key_iterations: int, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX whose only part is encrypted (PBES2, 2,048 iterations, a valid MAC) and holds the
    certificate and a protected key bag asking for key_iterations (its ciphertext is junk).

    What the key bag asks for is visible only after decrypting the part: with 2**31 - 1, OpenSSL
    spends many minutes deriving its key. About 2.5 KB.
    """
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key_bag = _safe_bag(
        "shrouded_key_bag", _tlv(0x30, pbes2_algorithm(key_iterations) + _tlv(0x04, bytes(1200)))
    )
    safe_contents = _tlv(0x30, key_bag + _certificate_bag(leaf.certificate))
    # pbes2_algorithm() names an all-zero salt and IV: encrypt with those.
    secret = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes(16), 2048, 32)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(safe_contents) + padder.finalize()
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(bytes(16))).encryptor()
    ciphertext = encryptor.update(plain) + encryptor.finalize()
    encrypted_content_info = _tlv(
        0x30, _oid("data") + pbes2_algorithm(2048) + _tlv(0x80, ciphertext)
    )
    encrypted_data = _tlv(0x30, _integer(0) + encrypted_content_info)
    return assemble_pfx(
        [_tlv(0x30, bytes.fromhex(_ENCRYPTED_DATA) + _tlv(0xA0, encrypted_data))], password
    )

"""Open a PKCS#12 file to the same result as cryptography's loader, without its slow key check.

cryptography's pkcs12.load_pkcs12 validates every RSA private key with OpenSSL's RSA_check_key,
whose Miller-Rabin rounds on both primes cost ~35 ms for RSA 2048: nine tenths of an upload.
quick_load() reaches the same result another way:

1. it verifies the file's MAC itself (RFC 7292 appendix B with SHA-1 or SHA-2, or PBMAC1 of
   RFC 9579);
2. it takes the one private key bag out of the file, decrypts it (PBES2 with PBKDF2 and AES-CBC,
   or the PKCS#12 PBEs with 3DES and 128-bit RC2), loads the key without the validation and
   checks its numbers instead (rsa_numbers_are_consistent);
3. it hands the rest of the file, without the key and the MAC, to load_pkcs12: OpenSSL itself
   decrypts and reads the certificates and their friendly names, as it would have;
4. it pairs the key with the first certificate whose public key matches, as OpenSSL does.

Anything it does not read returns None and the caller runs load_pkcs12 on the whole file, whose
verdict counts: a wrong password or MAC, an empty password, no MAC, an unknown algorithm, scrypt,
RC2-40 (cryptography offers RC2 with 128-bit keys only), nested bags, no key or several, a key
that is not RSA or EC or whose encoding is not the canonical one, numbers that do not fit... So a
file is either loaded to what load_pkcs12 returns for it, or left to load_pkcs12, with one
deliberate exception: p and q are not tested for primality (see rsa_numbers_are_consistent),
so an RSA key whose "p" is a product of primes is accepted here and refused there.

Django-free. The caller bounds the work a file may ask for (certificates/pfx.py: _inspect) before
calling; nothing here logs or keeps the password.
"""

from __future__ import annotations

import hashlib
import math
from hmac import compare_digest
from itertools import repeat

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2, TripleDES
from cryptography.hazmat.primitives import hashes, hmac, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates import der

# Python runs the PKCS#12 key derivation (a loop of hashes) about three times slower than OpenSSL;
# a file asking for more than this is left to load_pkcs12 rather than paying that.
MAX_PYTHON_KDF_ITERATIONS = 100_000

_DATA = "1.2.840.113549.1.7.1"
_DATA_OID = bytes.fromhex("06092A864886F70D010701")
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_PBMAC1 = "1.2.840.113549.1.5.14"

# RFC 7292 MAC digests: hashlib constructor, cryptography hash, block size in bytes (v).
_MAC_DIGESTS = {
    "1.3.14.3.2.26": (hashlib.sha1, hashes.SHA1, 64),
    "2.16.840.1.101.3.4.2.1": (hashlib.sha256, hashes.SHA256, 64),
    "2.16.840.1.101.3.4.2.2": (hashlib.sha384, hashes.SHA384, 128),
    "2.16.840.1.101.3.4.2.3": (hashlib.sha512, hashes.SHA512, 128),
}
# hmacWithSHA*: the PBKDF2 pseudo-random functions, and PBMAC1's MAC.
_HMACS = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
_AES_CBC_KEY_BYTES = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}
# pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd128BitRC2-CBC: cipher, key bytes.
_PKCS12_PBES = {
    "1.2.840.113549.1.12.1.3": (TripleDES, 24),
    "1.2.840.113549.1.12.1.5": (RC2, 16),
}
_KDF_KEY, _KDF_IV, _KDF_MAC = 1, 2, 3  # RFC 7292 B.3 purposes


class _NotHandled(Exception):
    """The file holds something this module does not read: leave it to load_pkcs12."""


def quick_load(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates | None:
    """What pkcs12.load_pkcs12(data, password) returns, or None to say: ask it instead."""
    # OpenSSL tries both "no password" and "" for an empty one; a NUL would end it early.
    if not password or "\0" in password:
        return None
    try:
        password.encode("utf-8")
        return _load(bytes(data), password)
    except (_NotHandled, ValueError, IndexError, TypeError, UnsupportedAlgorithm):
        # ValueError includes der.DerError and the refusals of cryptography's loaders.
        return None


def rsa_numbers_are_consistent(numbers: rsa.RSAPrivateNumbers) -> bool:
    """The checks of OpenSSL's RSA_check_key, and cryptography's odd primes, but the primality.

    Testing p and q for primality is what costs: OpenSSL runs 64 Miller-Rabin rounds on each (~35
    ms for RSA 2048). Even one round each in Python takes two 1024-bit modular exponentiations of
    ~2.5 ms on the benchmark machine, so a single round already misses the budget (1.2 times
    openssl's ~4.6 ms for the whole file) and would not make the verdict certain anyway. What is
    left out matters little: n = p*q is the certificate's modulus, so only the owner of the key
    can write a "p" that is a product of primes (an RSA key with three or more primes, posing as
    two), and that harms only their own credential; every other mistake in the numbers is caught.
    """
    p, q, d = numbers.p, numbers.q, numbers.d
    e, n = numbers.public_numbers.e, numbers.public_numbers.n
    if min(p, q, e) < 3 or not p & q & e & 1 or d < 1 or p * q != n:
        return False
    return (
        e * d % math.lcm(p - 1, q - 1) == 1
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and 0 < numbers.iqmp < p
        and numbers.iqmp * q % p == 1
    )


def _load(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates:
    version, auth_safe, mac_data = _children(der.read_all(data), 3)  # no MAC: not handled
    if version.encoded != b"\x02\x01\x03":
        raise _NotHandled
    authenticated = _data_content(auth_safe)
    if not _mac_matches(mac_data, authenticated, password):
        raise _NotHandled  # wrong password or damaged: load_pkcs12 says which error
    content_infos, key_bags = _take_key_bags(authenticated)
    if len(key_bags) != 1:
        raise _NotHandled
    key = _load_key(*key_bags[0], password)
    rest = pkcs12.load_pkcs12(_assemble(content_infos), password.encode())
    if rest.key is not None or rest.cert is not None:
        raise _NotHandled  # a key inside an encrypted part: which one OpenSSL keeps is its call
    return _pair(key, rest.additional_certs)


# Reading the structure strictly: whatever is not laid out as expected is not handled ----------


def _children(element: der.Element, *counts: int, tag: int = der.SEQUENCE) -> list[der.Element]:
    items = element.expect(tag).children()
    if counts and len(items) not in counts:
        raise _NotHandled
    return items


def _count(element: der.Element) -> int:
    """A positive INTEGER in its minimal encoding (OpenSSL refuses padded ones)."""
    content = element.expect(der.INTEGER).content
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise _NotHandled
    value = element.integer()
    if not 1 <= value < 2**31:
        raise _NotHandled
    return value


def _octets(element: der.Element) -> bytes:
    """An OCTET STRING, primitive or made of primitive pieces (BER, as Windows writes)."""
    if element.tag == der.OCTET_STRING | der.CONSTRUCTED:
        return b"".join(_primitive_octets(piece) for piece in element.children())
    return _primitive_octets(element)


def _primitive_octets(element: der.Element) -> bytes:
    return element.expect(der.OCTET_STRING).content


def _algorithm(element: der.Element) -> tuple[str, der.Element | None]:
    oid, *parameters = _children(element, 1, 2)
    return oid.oid(), parameters[0] if parameters else None


def _no_parameters(parameters: der.Element | None) -> None:
    if parameters is not None and parameters.encoded != b"\x05\x00":
        raise _NotHandled


def _data_content(content_info: der.Element) -> bytes:
    """The octets of a ContentInfo of type data."""
    oid, wrapper = _children(content_info, 2)
    if oid.oid() != _DATA:
        raise _NotHandled
    return _octets(wrapper.expect(der.context(0)).explicit())


# The MAC --------------------------------------------------------------------------------------


def _mac_matches(mac_data: der.Element, content: bytes, password: str) -> bool:
    digest_info, salt, *iterations = _children(mac_data, 2, 3)
    algorithm, digest = _children(digest_info, 2)
    expected = _primitive_octets(digest)
    salt = _primitive_octets(salt)
    count = _count(iterations[0]) if iterations else 1  # read even where PBMAC1 ignores it
    name, parameters = _algorithm(algorithm)
    if name == _PBMAC1:
        if parameters is None:
            raise _NotHandled
        kdf, scheme = _children(parameters, 2)
        scheme_name, scheme_parameters = _algorithm(scheme)
        _no_parameters(scheme_parameters)
        if scheme_name not in _HMACS:
            raise _NotHandled
        hash_algorithm = _HMACS[scheme_name]()
        key = _pbkdf2(kdf, password, hash_algorithm.digest_size, length_required=True)
    elif name in _MAC_DIGESTS:
        _no_parameters(parameters)
        constructor, hash_class, block = _MAC_DIGESTS[name]
        hash_algorithm = hash_class()
        key = _pkcs12_kdf(
            constructor, block, password, salt, _KDF_MAC, count, hash_algorithm.digest_size
        )
    else:
        raise _NotHandled
    mac = hmac.HMAC(key, hash_algorithm)
    mac.update(content)
    return compare_digest(mac.finalize(), expected)


def _pkcs12_kdf(
    constructor, block: int, password: str, salt: bytes, purpose: int, count: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2; the password as a BMPString with its two-byte terminator."""
    if count > MAX_PYTHON_KDF_ITERATIONS:
        raise _NotHandled

    def fill(value: bytes) -> bytes:  # repeated to a whole number of blocks
        length = -(-len(value) // block) * block
        return (value * (length // len(value) + 1))[:length]

    secret = password.encode("utf-16-be") + b"\0\0"
    material = bytearray((fill(salt) if salt else b"") + fill(secret))
    diversifier = bytes([purpose]) * block
    modulus = 1 << (8 * block)
    output = b""
    while True:
        digest = constructor(diversifier + material).digest()
        for _ in repeat(None, count - 1):
            digest = constructor(digest).digest()
        output += digest
        if len(output) >= size:
            return output[:size]
        addend = int.from_bytes(fill(digest), "big") + 1
        for start in range(0, len(material), block):
            piece = int.from_bytes(material[start : start + block], "big") + addend
            material[start : start + block] = (piece % modulus).to_bytes(block, "big")


def _pbkdf2(kdf: der.Element, password: str, size: int, *, length_required: bool = False) -> bytes:
    name, parameters = _algorithm(kdf)
    if name != _PBKDF2 or parameters is None:
        raise _NotHandled  # scrypt and others
    salt, count, *rest = _children(parameters, 2, 3, 4)
    salt, count = _primitive_octets(salt), _count(count)
    if rest and rest[0].tag == der.INTEGER:
        if _count(rest.pop(0)) != size:
            raise _NotHandled
    elif length_required:
        raise _NotHandled
    prf = hashes.SHA1()  # noqa: S303 - PBKDF2's default, RFC 8018
    if rest:
        prf_name, prf_parameters = _algorithm(rest.pop())
        _no_parameters(prf_parameters)
        if prf_name not in _HMACS or rest:
            raise _NotHandled
        prf = _HMACS[prf_name]()
    if not salt:
        raise _NotHandled
    return PBKDF2HMAC(prf, size, salt, count).derive(password.encode())


# The key --------------------------------------------------------------------------------------


def _take_key_bags(authenticated: bytes) -> tuple[list[bytes], list[tuple[str, der.Element]]]:
    """The ContentInfos without their key bags, and the key bags (from unencrypted parts)."""
    content_infos = []
    key_bags = []
    for info in _children(der.read_all(authenticated)):
        oid, *_content = _children(info, 1, 2)
        if oid.oid() != _DATA:
            # Encrypted parts, and the kinds OpenSSL skips, go to load_pkcs12 as they are.
            content_infos.append(info.encoded)
            continue
        kept = []
        for bag in _children(der.read_all(_data_content(info))):
            bag_id, value, *attributes = _children(bag, 2, 3)
            kind = bag_id.oid()
            if kind == _SAFE_CONTENTS_BAG:
                raise _NotHandled
            if kind in (_KEY_BAG, _SHROUDED_KEY_BAG):
                _check_attributes(attributes)
                key_bags.append((kind, value.expect(der.context(0)).explicit()))
            else:
                kept.append(bag.encoded)  # certificates and the rest: as they are
        content_infos.append(_tlv(der.SEQUENCE, _DATA_OID + _data_wrapper(b"".join(kept))))
    return content_infos, key_bags


def _check_attributes(attributes: list[der.Element]) -> None:
    """Attributes of a bag that load_pkcs12 will not see: only the plain kinds tools write.

    OpenSSL reads each attribute value by its type and refuses a malformed one; taking the bag
    out must not let such a file through.
    """
    for attribute in _children(attributes[0], tag=der.SET) if attributes else ():
        oid, values = _children(attribute, 2)
        oid.oid()
        for value in _children(values, tag=der.SET) or [None]:
            plain = value is not None and (
                value.tag == der.OCTET_STRING
                or (value.tag == der.BMP_STRING and len(value.content) % 2 == 0)
            )
            if not plain:
                raise _NotHandled


def _load_key(kind: str, value: der.Element, password: str):
    if kind == _KEY_BAG:
        info = value.encoded
    else:
        algorithm, encrypted = _children(value, 2)
        info = _decrypt(algorithm, _primitive_octets(encrypted), password)
    key = serialization.load_der_private_key(info, None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise _NotHandled
    # OpenSSL decodes the key and encodes it again before cryptography loads it: insisting on the
    # canonical encoding leaves no room for the two decoders to read the same bytes differently.
    canonical = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not compare_digest(canonical, info):
        raise _NotHandled
    if isinstance(key, rsa.RSAPrivateKey) and not rsa_numbers_are_consistent(key.private_numbers()):
        raise _NotHandled
    return key


def _decrypt(algorithm: der.Element, ciphertext: bytes, password: str) -> bytes:
    name, parameters = _algorithm(algorithm)
    if parameters is None:
        raise _NotHandled
    if name == _PBES2:
        kdf, scheme = _children(parameters, 2)
        cipher_name, iv = _children(scheme, 2)
        iv = _primitive_octets(iv)
        if cipher_name.oid() not in _AES_CBC_KEY_BYTES or len(iv) != 16:
            raise _NotHandled
        key = _pbkdf2(kdf, password, _AES_CBC_KEY_BYTES[cipher_name.oid()])
        cipher = algorithms.AES(key)
    elif name in _PKCS12_PBES:
        cipher_class, size = _PKCS12_PBES[name]
        salt, count = _children(parameters, 2)
        salt, count = _primitive_octets(salt), _count(count)
        sha1 = _MAC_DIGESTS["1.3.14.3.2.26"][0]
        key = _pkcs12_kdf(sha1, 64, password, salt, _KDF_KEY, count, size)
        iv = _pkcs12_kdf(sha1, 64, password, salt, _KDF_IV, count, 8)
        cipher = cipher_class(key)
    else:
        raise _NotHandled
    if not ciphertext or len(ciphertext) % (cipher.block_size // 8):
        raise _NotHandled
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(cipher.block_size).unpadder()
    return unpadder.update(padded) + unpadder.finalize()  # ValueError when the padding is wrong


# The rest of the file -------------------------------------------------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _data_wrapper(content: bytes) -> bytes:
    return _tlv(der.context(0), _tlv(der.OCTET_STRING, _tlv(der.SEQUENCE, content)))


def _assemble(content_infos: list[bytes]) -> bytes:
    """A PFX holding these ContentInfos and no MAC (OpenSSL then checks none)."""
    auth_safe = _tlv(der.SEQUENCE, _DATA_OID + _data_wrapper(b"".join(content_infos)))
    return _tlv(der.SEQUENCE, b"\x02\x01\x03" + auth_safe)


def _pair(key, certificates: list[pkcs12.PKCS12Certificate]) -> pkcs12.PKCS12KeyAndCertificates:
    """OpenSSL's PKCS12_parse: the first certificate that matches the key is the certificate."""
    public_key = key.public_key()
    for index, item in enumerate(certificates):
        if item.certificate.public_key() == public_key:
            others = certificates[:index] + certificates[index + 1 :]
            return pkcs12.PKCS12KeyAndCertificates(key, item, others)
    return pkcs12.PKCS12KeyAndCertificates(key, None, certificates)

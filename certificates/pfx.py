"""Read and check a client certificate uploaded as a PKCS#12 (.pfx / .p12) file.

load_pfx() looks at the file's structure itself before any password-based work (see
certificates/der.py), so that each problem gets its own message and a file asking for a forged
amount of key derivation in its visible parts is refused before any of it starts. Only then does
cryptography (OpenSSL) verify the MAC, decrypt the parts and validate the key; its verdict counts.
What an encrypted part asks for cannot be seen before decrypting it: the server therefore runs
load_pfx in a helper process with a time limit (certificates/parsing.py), never in a worker.
Files of another kind are recognised in certificates/upload_kinds.py, and the facts shown for the
certificate are read in certificates/facts.py. Nothing here imports Django, or stores or logs the
file or its password.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates import der
from certificates.facts import CertificateFacts, clean_untrusted_text, describe_certificate
from certificates.upload_errors import UploadError
from certificates.upload_kinds import (
    EXPORT_PFX_ADVICE,
    PKCS7_DATA,
    PKCS7_SIGNED_DATA,
    pfx_outer_element,
)

MAX_PFX_BYTES = 256 * 1024

# Key-derivation iterations that one MAC or encrypted part of a file may ask for. Common tools
# write 2,000 to 20,000 (Windows, OpenSSL, Java keytool, cryptography). One million costs a tenth
# to a quarter of a second per part here: fifty times what those tools use, yet a forged count of
# billions (hours of work) is refused before any derivation starts.
MAX_KDF_ITERATIONS = 1_000_000
# The whole file: a MAC plus the certificate and key parts is three derivations; this leaves room
# for one more and stops a file that repeats encrypted parts to multiply the cost.
MAX_TOTAL_KDF_ITERATIONS = 4 * MAX_KDF_ITERATIONS

MAX_RSA_BITS = 8192
# An (encrypted) RSA 8192 key takes about 4.8 KB. Loading a key validates it, which costs seconds
# at 8192 bits and grows steeply after that, so larger keys are refused before decryption.
MAX_KEY_BAG_BYTES = 5 * 1024
MAX_FRIENDLY_NAME_CHARS = 255

_SUPPORTED_KEYS = "RSA of 2048 bits or more, or EC on the P-256 or P-384 curve"

_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
_PKCS12_PBE = "1.2.840.113549.1.12.1."  # pbeWithSHAAnd3-KeyTripleDES-CBC and its siblings
_PBES1 = {f"1.2.840.113549.1.5.{arc}" for arc in (1, 3, 4, 6, 10, 11)}
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_PBMAC1 = "1.2.840.113549.1.5.14"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_MAX_BAG_NESTING = 4

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


@dataclass(frozen=True)
class ParsedPfx(CertificateFacts):
    """A usable client certificate: the facts of its certificate, its key and its chain.

    Plain data only (bytes, text, numbers, times), so that it can travel from the helper process
    that opened the file; the objects are loaded again from the bytes when asked for.
    """

    certificate_bytes: bytes = field(repr=False)  # DER
    key_bytes: bytes = field(repr=False)  # unencrypted PKCS#8 DER
    chain_bytes: tuple[bytes, ...] = field(repr=False)  # DER of the other certificates in the file
    friendly_name: str  # "" when none; untrusted text
    key_type: str  # "RSA" or "EC"
    key_size: int  # bits; for EC the size of the curve
    key_description: str  # "RSA 2048", "EC P-256"

    @property
    def facts(self) -> CertificateFacts:
        return CertificateFacts(**{f.name: getattr(self, f.name) for f in fields(CertificateFacts)})

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_bytes)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return tuple(x509.load_der_x509_certificate(item) for item in self.chain_bytes)

    @property
    def private_key(self) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
        return serialization.load_der_private_key(self.key_bytes, password=None)

    def private_key_der(self) -> bytes:
        """The key as unencrypted PKCS#8 DER: encrypt it before it goes anywhere."""
        return self.key_bytes

    def certificate_der(self) -> bytes:
        return self.certificate_bytes


def load_pfx(data: bytes, password: str) -> ParsedPfx:
    """Parse and check an uploaded PKCS#12 file; raise UploadError with a clear message if not
    usable. Run it in certificates/parsing.py's helper process: an encrypted part may ask for
    any amount of work."""
    data = bytes(data)
    if not data:
        raise UploadError("empty", f"The file is empty. {EXPORT_PFX_ADVICE} and choose that file.")
    if len(data) > MAX_PFX_BYTES:
        raise UploadError(
            "too_large",
            f"The file is larger than {MAX_PFX_BYTES // 1024} KB, far more than a certificate "
            "with its key and chain needs. Check that you chose the right .pfx file.",
        )
    inventory = _inspect(pfx_outer_element(data))
    key_bags = inventory.key_bags
    loaded = _decrypt(data, password)
    if key_bags > 1:
        raise UploadError(
            "multiple_keys",
            f"The file contains {key_bags} private keys, but a client certificate needs exactly "
            f"one. {EXPORT_PFX_ADVICE}, with only that certificate and its own key.",
        )
    key, certificate, extra = _pick(loaded)
    key_type, key_size = _check_key(key)
    # Some tools repeat the certificate itself among the extra certificates.
    chain = tuple(item for item in extra if item != certificate)
    name = (loaded.cert.friendly_name if loaded.cert else None) or b""
    friendly_name = clean_untrusted_text(name.decode("utf-8", "replace"))
    return ParsedPfx(
        **vars(describe_certificate(certificate)),
        certificate_bytes=certificate.public_bytes(serialization.Encoding.DER),
        key_bytes=key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        chain_bytes=tuple(item.public_bytes(serialization.Encoding.DER) for item in chain),
        friendly_name=friendly_name[:MAX_FRIENDLY_NAME_CHARS],
        key_type=key_type,
        key_size=key_size,
        key_description=_key_description(key),
    )


# The PKCS#12 structure, before decryption ---------------------------------------------------


@dataclass
class _Inventory:
    key_bags: int = 0
    iterations: int = 0

    def spend(self, iterations: int) -> None:
        if iterations < 1:
            raise der.DerError("iteration count must be positive")
        self.iterations += iterations
        if iterations > MAX_KDF_ITERATIONS or self.iterations > MAX_TOTAL_KDF_ITERATIONS:
            raise UploadError(
                "iterations",
                "The file asks for an unreasonable amount of password-based key derivation "
                f"(more than {MAX_KDF_ITERATIONS:,} iterations for one part, or "
                f"{MAX_TOTAL_KDF_ITERATIONS:,} in all), so it was not opened. Export it again "
                "with standard settings.",
            )


def _inspect(pfx: der.Element) -> _Inventory:
    """Walk the unencrypted structure: how many private keys it shows, and the key-derivation
    iterations it asks for."""
    inventory = _Inventory()
    try:
        version, auth_safe, *rest = pfx.children()
        if version.integer() != 3:
            raise _unsupported_format("an unknown version of the format")
        content_type, content = _content_info(auth_safe)
        if content_type == PKCS7_SIGNED_DATA:
            raise _unsupported_format("certificate-based integrity instead of a password")
        if content_type != PKCS7_DATA or content is None:
            raise der.DerError("authSafe must be data")
        if len(rest) > 1:
            raise der.DerError("unexpected elements after macData")
        if rest:
            _inspect_mac(rest[0], inventory)
        for info in der.read_all(content.octets()).expect(der.SEQUENCE).children():
            content_type, content = _content_info(info)
            if content is None:
                continue
            if content_type == PKCS7_DATA:
                safe_contents = der.read_all(content.octets())
                _inspect_bags(safe_contents, inventory, nesting=0)
            elif content_type == _ENCRYPTED_DATA:
                _version, encrypted_info, *_ = content.expect(der.SEQUENCE).children()
                _type, algorithm, *_ = encrypted_info.expect(der.SEQUENCE).children()
                _inspect_algorithm(algorithm, inventory)
            # Other content types (envelopedData) are skipped by OpenSSL too.
    except UploadError:
        raise
    except (ValueError, IndexError):  # DerError, or fields missing where the format wants them
        raise UploadError(
            "damaged",
            "The file is damaged: its content is not laid out as a .pfx (PKCS#12) file should "
            "be. Export the file again.",
        ) from None
    return inventory


def _unsupported_format(what: str) -> UploadError:
    return UploadError(
        "unsupported_format",
        f"This .pfx file uses {what}, which is not supported. Export it again as a standard "
        ".pfx (PKCS#12) file protected by a password.",
    )


def _content_info(info: der.Element) -> tuple[str, der.Element | None]:
    parts = info.expect(der.SEQUENCE).children()
    if not 1 <= len(parts) <= 2:
        raise der.DerError("bad ContentInfo")
    content = parts[1].expect(der.context(0)).explicit() if len(parts) == 2 else None
    return parts[0].oid(), content


def _inspect_mac(mac_data: der.Element, inventory: _Inventory) -> None:
    digest_info, _salt, *rest = mac_data.expect(der.SEQUENCE).children()
    algorithm = digest_info.expect(der.SEQUENCE).children()[0].expect(der.SEQUENCE)
    oid, *parameters = algorithm.children()
    if oid.oid() == _PBMAC1:
        kdf = parameters[0].expect(der.SEQUENCE).children()[0]
        _inspect_kdf(kdf, inventory)
    else:
        inventory.spend(rest[0].integer() if rest else 1)


def _inspect_bags(safe_contents: der.Element, inventory: _Inventory, nesting: int) -> None:
    if nesting > _MAX_BAG_NESTING:
        raise der.DerError("safe contents nested too deeply")
    for bag in safe_contents.expect(der.SEQUENCE).children():
        bag_id, value, *_attributes = bag.expect(der.SEQUENCE).children()
        kind = bag_id.oid()
        value = value.expect(der.context(0)).explicit()
        if kind in (_KEY_BAG, _SHROUDED_KEY_BAG):
            # Keys inside an encrypted part (rare) cannot be counted here, nor the work their
            # encryption asks for (the helper's time limit bounds that); OpenSSL then silently
            # keeps the first key.
            inventory.key_bags += 1
            if len(value.encoded) > MAX_KEY_BAG_BYTES:
                raise UploadError(
                    "unsupported_key",
                    f"The private key in the file is larger than the gateway supports (RSA up to "
                    f"{MAX_RSA_BITS} bits). Use a certificate with {_SUPPORTED_KEYS}.",
                )
        if kind == _SHROUDED_KEY_BAG:
            algorithm, _encrypted = value.expect(der.SEQUENCE).children()
            _inspect_algorithm(algorithm, inventory)
        elif kind == _SAFE_CONTENTS_BAG:
            _inspect_bags(value, inventory, nesting + 1)


def _inspect_algorithm(algorithm: der.Element, inventory: _Inventory) -> None:
    """Count the iterations a password-based encryption AlgorithmIdentifier asks for."""
    oid, *parameters = algorithm.expect(der.SEQUENCE).children()
    name = oid.oid()
    if name.startswith(_PKCS12_PBE) or name in _PBES1:
        _salt, iterations = parameters[0].expect(der.SEQUENCE).children()
        inventory.spend(iterations.integer())
    elif name == _PBES2:
        kdf, _scheme = parameters[0].expect(der.SEQUENCE).children()
        _inspect_kdf(kdf, inventory)
    # Anything else is not password-based encryption that OpenSSL would run; it will refuse it.


def _inspect_kdf(kdf: der.Element, inventory: _Inventory) -> None:
    oid, *parameters = kdf.expect(der.SEQUENCE).children()
    name = oid.oid()
    if name == _PBKDF2:
        _salt, iterations, *_ = parameters[0].expect(der.SEQUENCE).children()
        inventory.spend(iterations.integer())
    elif name == _SCRYPT:
        # Counted as N * r * p, roughly comparable to PBKDF2 iterations in cost.
        _salt, cost, block_size, parallel, *_ = parameters[0].expect(der.SEQUENCE).children()
        inventory.spend(cost.integer() * block_size.integer() * parallel.integer())


# Decryption and the checks that need it -----------------------------------------------------


def _decrypt(data: bytes, password: str) -> pkcs12.PKCS12KeyAndCertificates:
    wrong = UploadError(
        "wrong_password_or_damaged",
        "The password is wrong or the file is damaged (the two cannot be told apart). Check the "
        "password, which is case-sensitive; if it is right, export the file again.",
    )
    try:
        secret = password.encode("utf-8")
    except UnicodeEncodeError:
        raise wrong from None
    if "\0" in password:  # OpenSSL takes the password as a C string; cryptography would panic
        raise wrong
    try:
        return pkcs12.load_pkcs12(data, secret)
    except (UnsupportedAlgorithm, TypeError):
        # The key is of a kind cryptography cannot represent, e.g. X25519 (TypeError) or GOST.
        raise UploadError(
            "unsupported_key",
            f"The certificate's key type is not supported by the gateway. Use a certificate with "
            f"{_SUPPORTED_KEYS}.",
        ) from None
    except ValueError:
        raise wrong from None


def _pick(loaded: pkcs12.PKCS12KeyAndCertificates):
    key = loaded.key
    certificates = [item.certificate for item in loaded.additional_certs]
    if key is None:
        only = ", only certificates" if certificates or loaded.cert else ""
        raise UploadError(
            "no_private_key",
            f"The file contains no private key{only}. Export the certificate again and include "
            "its private key (in Windows: 'Yes, export the private key'), as a .pfx (PKCS#12) "
            "file.",
        )
    # OpenSSL pairs the key with the certificate whose public key matches it, if any.
    certificate = loaded.cert.certificate if loaded.cert else None
    if certificate is None or certificate.public_key() != key.public_key():
        if certificates or certificate is not None:
            raise UploadError(
                "key_mismatch",
                "The private key in the file does not belong to any certificate in it. Export "
                "the certificate together with its own private key.",
            )
        raise UploadError(
            "no_certificate",
            "The file contains a private key but not its certificate. Export the certificate "
            "together with this key as a .pfx (PKCS#12) file.",
        )
    return key, certificate, certificates


def _key_description(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, dsa.DSAPrivateKey):
        return f"DSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "Ed448"
    return type(key).__name__


def _check_key(key) -> tuple[str, int]:
    description = _key_description(key)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise UploadError(
                "weak_key",
                f"The certificate's key ({description} bits) is too weak: the gateway needs "
                f"{_SUPPORTED_KEYS}. Get a new certificate with a stronger key.",
            )
        if key.key_size <= MAX_RSA_BITS:
            return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in ("secp256r1", "secp384r1"):
        return "EC", key.curve.key_size
    raise UploadError(
        "unsupported_key",
        f"The certificate's key ({description}) is not supported by the gateway. Use a "
        f"certificate with {_SUPPORTED_KEYS}.",
    )

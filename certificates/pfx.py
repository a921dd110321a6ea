"""Read and check a client certificate uploaded as a PKCS#12 (.pfx / .p12) file.

load_pfx() looks at the file's structure itself before any password-based work (see
certificates/der.py), so that each problem gets its own message and a hostile file cannot make
the server spend minutes on key derivation. Only then does cryptography (OpenSSL) verify the MAC
and decrypt. Nothing here stores or logs the file or its password.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, fields

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from certificates import der

MAX_PFX_BYTES = 256 * 1024
MAX_CERTIFICATE_BYTES = 64 * 1024

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
_EXPORT_PFX = "Export the certificate with its private key as a .pfx (PKCS#12) file"

_DATA = "1.2.840.113549.1.7.1"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
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
_UPN = "1.3.6.1.4.1.311.20.2.3"
_MAX_BAG_NESTING = 4

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_NAME_KEYWORDS = {NameOID.EMAIL_ADDRESS: "E"}  # as Windows and the gateway's portal show it
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_UNSAFE_CHARS = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


class PfxError(ValueError):
    """A file that cannot be used; message says why and what to do instead."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CertificateError(PfxError):
    """A public certificate (for example a CA certificate) that cannot be used."""


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    sans: tuple[str, ...]
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    thumbprint: str
    sha256_fingerprint: str
    self_signed: bool

    def validity_problem(self, now: dt.datetime | None = None) -> str | None:
        now = now or dt.datetime.now(dt.UTC)
        if now < self.not_before:
            return "not yet valid"
        if now > self.not_after:
            return "expired"
        return None


@dataclass(frozen=True)
class ParsedPfx(CertificateFacts):
    """A usable client certificate: the facts of its certificate, its key and its chain."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...]  # the other certificates in the file
    friendly_name: str  # "" when none; untrusted text
    key_type: str  # "RSA" or "EC"
    key_size: int  # bits; for EC the size of the curve

    @property
    def facts(self) -> CertificateFacts:
        return CertificateFacts(**{f.name: getattr(self, f.name) for f in fields(CertificateFacts)})

    @property
    def key_description(self) -> str:
        return _key_description(self.private_key)

    def private_key_der(self) -> bytes:
        """The key as unencrypted PKCS#8 DER: encrypt it before it goes anywhere."""
        return self.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def load_pfx(data: bytes, password: str) -> ParsedPfx:
    """Parse and check an uploaded PKCS#12 file; raise PfxError with a clear message if unusable."""
    data = bytes(data)
    if not data:
        raise PfxError("empty", f"The file is empty. {_EXPORT_PFX} and choose that file.")
    if len(data) > MAX_PFX_BYTES:
        raise PfxError(
            "too_large",
            f"The file is larger than {MAX_PFX_BYTES // 1024} KB, far more than a certificate "
            "with its key and chain needs. Check that you chose the right .pfx file.",
        )
    key_bags = _inspect(_outer_pfx(data))
    loaded = _decrypt(data, password)
    if key_bags > 1:
        raise PfxError(
            "multiple_keys",
            f"The file contains {key_bags} private keys, but a client certificate needs exactly "
            f"one. {_EXPORT_PFX}, with only that certificate and its own key.",
        )
    key, certificate, extra = _pick(loaded)
    key_type, key_size = _check_key(key)
    # Some tools repeat the certificate itself among the extra certificates.
    chain = tuple(item for item in extra if item != certificate)
    name = (loaded.cert.friendly_name if loaded.cert else None) or b""
    return ParsedPfx(
        **vars(describe_certificate(certificate)),
        certificate=certificate,
        private_key=key,
        chain=chain,
        friendly_name=_clean(name.decode("utf-8", "replace"))[:MAX_FRIENDLY_NAME_CHARS],
        key_type=key_type,
        key_size=key_size,
    )


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 of the DER, upper-case hex without separators, as the gateway shows thumbprints."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - an identifier


def describe_certificate(certificate: x509.Certificate) -> CertificateFacts:
    """The facts shown for a certificate; raise PfxError when they cannot be read."""
    try:
        if certificate.serial_number.bit_length() > 512:  # RFC 5280 allows 160
            raise ValueError("serial number too long")
        return CertificateFacts(
            subject=_clean(certificate.subject.rfc4514_string(_NAME_KEYWORDS)),
            issuer=_clean(certificate.issuer.rfc4514_string(_NAME_KEYWORDS)),
            sans=_sans(certificate),
            serial=_serial(certificate.serial_number),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            thumbprint=certificate_thumbprint(certificate),
            sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex().upper(),
            self_signed=_self_signed(certificate),
        )
    except (ValueError, x509.DuplicateExtension) as exc:  # found when first read
        raise PfxError(
            "invalid_certificate",
            "The certificate cannot be read: its names or extensions are not encoded correctly. "
            "Ask whoever issued it for a corrected certificate.",
        ) from exc


def load_public_certificate(data: bytes) -> x509.Certificate:
    """A public certificate in PEM or DER (.cer, .crt, .pem, .der), for example a CA's."""
    data = bytes(data)
    if not data.strip():
        raise CertificateError("empty", "The file is empty. Choose the certificate file.")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateError(
            "too_large",
            f"The file is larger than {MAX_CERTIFICATE_BYTES // 1024} KB, far more than one "
            "certificate needs. Check that you chose the right file.",
        )
    if _is_pem(data):
        return _load_pem_certificate(data)
    try:
        outer = der.read(data)
        kind = _der_kind(outer)
    except der.DerError:
        kind = None
    if kind == "pfx":
        raise CertificateError(
            "pfx",
            "This is a .pfx (PKCS#12) file, which holds a private key. Upload only the public "
            "certificate (.cer, .crt or .pem) and keep the private key where it is.",
        )
    if kind == "key":
        raise _certificate_with_key_error()
    if kind == "pkcs7":
        raise _certificate_bundle_error()
    if kind != "certificate":
        raise CertificateError(
            "not_certificate",
            "This file is not a certificate. Upload the certificate as a .cer, .crt, .pem or "
            ".der file.",
        )
    if outer.next != len(data):
        raise CertificateError(
            "trailing_data",
            "The file has extra data after the end of the certificate. It may have been "
            "damaged in transfer; export or copy the certificate again.",
        )
    return x509.load_der_x509_certificate(data)


# Recognising what was uploaded --------------------------------------------------------------


def _is_pem(data: bytes) -> bool:
    # PEM may follow other text, such as the "Bag Attributes" lines openssl writes.
    return data[0] != der.SEQUENCE and b"-----BEGIN " in data


def _pem_kinds(data: bytes) -> list[str]:
    kinds = []
    for match in _PEM_LABEL.finditer(data):
        label = match.group(1).decode()
        if label.endswith("PRIVATE KEY"):
            kinds.append("key")
        elif label.endswith("CERTIFICATE REQUEST"):
            kinds.append("csr")
        elif label in ("PKCS7", "CMS"):
            kinds.append("pkcs7")
        elif label.endswith("CERTIFICATE"):
            kinds.append("certificate")
        else:
            kinds.append("other")
    return kinds


def _pem_error(data: bytes) -> PfxError:
    kinds = set(_pem_kinds(data))
    if {"certificate", "key"} <= kinds:
        return PfxError(
            "not_pfx_pem_certificate_and_key",
            "This is a PEM text file with a certificate and a private key, not a .pfx file. "
            "Combine them into a .pfx (PKCS#12) file, for example with "
            "'openssl pkcs12 -export -in certificate.pem -inkey key.pem -out certificate.pfx'.",
        )
    if "certificate" in kinds:
        return PfxError(
            "not_pfx_pem_certificate",
            f"This is a certificate in PEM format without its private key. {_EXPORT_PFX}.",
        )
    if "key" in kinds:
        return PfxError(
            "not_pfx_pem_key",
            "This is a private key in PEM format without its certificate. Export the certificate "
            "together with this key as a .pfx (PKCS#12) file.",
        )
    if "csr" in kinds:
        return _csr_error()
    if "pkcs7" in kinds:
        return _bundle_error()
    return PfxError("not_pfx_pem", f"This is a PEM text file, not a .pfx file. {_EXPORT_PFX}.")


def _csr_error() -> PfxError:
    return PfxError(
        "not_pfx_csr",
        "This is a certificate signing request (CSR), not a certificate. Once the certificate "
        f"authority has issued the certificate, {_EXPORT_PFX[0].lower()}{_EXPORT_PFX[1:]}.",
    )


def _bundle_error() -> PfxError:
    return PfxError(
        "not_pfx_pkcs7",
        "This is a PKCS#7 (.p7b) certificate bundle, which never contains a private key. "
        f"{_EXPORT_PFX}.",
    )


def _der_kind(outer: der.Element) -> str | None:
    """What a complete DER element holds: pfx, certificate, key, pkcs7, csr, or None."""
    if outer.tag != der.SEQUENCE:
        return None
    items = outer.children()
    tags = [item.tag for item in items]
    if len(items) >= 2 and tags[:2] == [der.INTEGER, der.SEQUENCE]:
        if _first_oid(items[1]) in (_DATA, _SIGNED_DATA):
            return "pfx"
        if len(items) >= 3 and tags[2] == der.OCTET_STRING:
            return "key"  # PKCS#8 PrivateKeyInfo
    if _first_oid(outer) == _SIGNED_DATA:
        return "pkcs7"
    if tags == [der.SEQUENCE, der.OCTET_STRING]:
        return "key"  # PKCS#8 EncryptedPrivateKeyInfo
    if len(items) >= 6 and all(tag == der.INTEGER for tag in tags[:6]):
        return "key"  # traditional RSA or DSA key
    if len(items) >= 2 and tags[:2] == [der.INTEGER, der.OCTET_STRING]:
        return "key"  # traditional EC key
    if len(items) == 3 and tags == [der.SEQUENCE, der.SEQUENCE, der.BIT_STRING]:
        try:
            x509.load_der_x509_certificate(outer.encoded)
            return "certificate"
        except ValueError:
            pass
        try:
            x509.load_der_x509_csr(outer.encoded)
            return "csr"
        except ValueError:
            pass
    return None


def _first_oid(element: der.Element) -> str | None:
    first = element.children()[:1]
    return first[0].oid() if first and first[0].tag == der.OBJECT_IDENTIFIER else None


def _outer_pfx(data: bytes) -> der.Element:
    """The file's outer element, once sure the file is a complete PKCS#12 file and nothing else."""
    if _is_pem(data):
        raise _pem_error(data)
    not_pfx = PfxError(
        "not_pfx",
        "This file is not a .pfx (PKCS#12) file. Choose the .pfx or .p12 file that holds the "
        "certificate and its private key.",
    )
    if data[0] != der.SEQUENCE:
        if _is_base64_pfx(data):
            raise PfxError(
                "not_pfx_base64",
                "This file contains a .pfx file written as base64 text. Upload the original "
                "binary .pfx file, or decode the text first (for example with 'base64 -d').",
            )
        raise not_pfx
    try:
        outer = der.read(data)
        kind = _der_kind(outer)
    except der.TruncatedError:
        if b"\x02\x01\x03\x30" in data[2:12]:  # the version and authSafe of a PFX
            raise PfxError(
                "truncated",
                "The file is incomplete: it ends before the end of its content, probably because "
                "a download, upload or copy was interrupted. Copy or export the file again.",
            ) from None
        raise not_pfx from None
    except der.DerError:
        raise not_pfx from None
    if kind == "certificate":
        raise PfxError(
            "not_pfx_der_certificate",
            "This is a certificate in DER format (.cer, .crt) without its private key. "
            f"{_EXPORT_PFX}.",
        )
    if kind == "key":
        raise PfxError(
            "not_pfx_der_key",
            "This is a private key in DER format without its certificate. Export the certificate "
            "together with this key as a .pfx (PKCS#12) file.",
        )
    if kind == "csr":
        raise _csr_error()
    if kind == "pkcs7":
        raise _bundle_error()
    if kind != "pfx":
        raise not_pfx
    if outer.next != len(data):
        raise PfxError(
            "trailing_data",
            "The file has extra data after the end of its content. It may have been damaged "
            "in transfer; copy or export the file again.",
        )
    return outer


def _is_base64_pfx(data: bytes) -> bool:
    try:
        raw = base64.b64decode(re.sub(rb"\s+", b"", data), validate=True)
    except ValueError:
        return False
    return raw[:1] == b"\x30" and b"\x02\x01\x03\x30" in raw[2:12]


def _load_pem_certificate(data: bytes) -> x509.Certificate:
    kinds = _pem_kinds(data)
    if "key" in kinds:
        raise _certificate_with_key_error()
    if "pkcs7" in kinds:
        raise _certificate_bundle_error()
    count = kinds.count("certificate")
    if count > 1:
        raise CertificateError(
            "multiple_certificates",
            f"This file holds {count} certificates. Upload each certificate on its own.",
        )
    if count == 0 or len(kinds) > 1:
        raise CertificateError(
            "not_certificate",
            "This PEM file does not hold a certificate. Upload the certificate as a .cer, .crt, "
            ".pem or .der file.",
        )
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertificateError(
            "damaged",
            "The certificate in this PEM file is damaged. Export or copy it again.",
        ) from None


def _certificate_with_key_error() -> CertificateError:
    return CertificateError(
        "private_key",
        "This file contains a private key. Upload only the public certificate (.cer, .crt or "
        ".pem) and keep the private key where it is.",
    )


def _certificate_bundle_error() -> CertificateError:
    return CertificateError(
        "pkcs7",
        "This is a PKCS#7 (.p7b) bundle. Open it, export each certificate on its own as a .cer "
        "file, and upload those.",
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
            raise PfxError(
                "iterations",
                "The file asks for an unreasonable amount of password-based key derivation "
                f"(more than {MAX_KDF_ITERATIONS:,} iterations for one part, or "
                f"{MAX_TOTAL_KDF_ITERATIONS:,} in all), so it was not opened. Export it again "
                "with standard settings.",
            )


def _inspect(pfx: der.Element) -> int:
    """Walk the unencrypted structure; return how many private keys it shows."""
    inventory = _Inventory()
    try:
        version, auth_safe, *rest = pfx.children()
        if version.integer() != 3:
            raise _unsupported_format("an unknown version of the format")
        content_type, content = _content_info(auth_safe)
        if content_type == _SIGNED_DATA:
            raise _unsupported_format("certificate-based integrity instead of a password")
        if content_type != _DATA or content is None:
            raise der.DerError("authSafe must be data")
        if len(rest) > 1:
            raise der.DerError("unexpected elements after macData")
        if rest:
            _inspect_mac(rest[0], inventory)
        for info in der.read_all(content.octets()).expect(der.SEQUENCE).children():
            content_type, content = _content_info(info)
            if content is None:
                continue
            if content_type == _DATA:
                safe_contents = der.read_all(content.octets())
                _inspect_bags(safe_contents, inventory, nesting=0)
            elif content_type == _ENCRYPTED_DATA:
                _version, encrypted_info, *_ = content.expect(der.SEQUENCE).children()
                _type, algorithm, *_ = encrypted_info.expect(der.SEQUENCE).children()
                _inspect_algorithm(algorithm, inventory)
            # Other content types (envelopedData) are skipped by OpenSSL too.
    except PfxError:
        raise
    except (ValueError, IndexError):  # DerError, or fields missing where the format wants them
        raise PfxError(
            "damaged",
            "The file is damaged: its content is not laid out as a .pfx (PKCS#12) file should "
            "be. Export the file again.",
        ) from None
    return inventory.key_bags


def _unsupported_format(what: str) -> PfxError:
    return PfxError(
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
            # Keys inside an encrypted part (rare) cannot be counted here; OpenSSL then silently
            # keeps the first one.
            inventory.key_bags += 1
            if len(value.encoded) > MAX_KEY_BAG_BYTES:
                raise PfxError(
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
    wrong = PfxError(
        "wrong_password_or_damaged",
        "The password is wrong or the file is damaged (the two cannot be told apart). Check the "
        "password, which is case-sensitive; if it is right, export the file again.",
    )
    try:
        secret = password.encode("utf-8")
    except UnicodeEncodeError:
        raise wrong from None
    try:
        return pkcs12.load_pkcs12(data, secret)
    except (UnsupportedAlgorithm, TypeError):
        # The key is of a kind cryptography cannot represent, e.g. X25519 (TypeError) or GOST.
        raise PfxError(
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
        raise PfxError(
            "no_private_key",
            f"The file contains no private key{only}. Export the certificate again and include "
            "its private key (in Windows: 'Yes, export the private key'), as a .pfx (PKCS#12) "
            "file.",
        )
    # OpenSSL pairs the key with the certificate whose public key matches it, if any.
    certificate = loaded.cert.certificate if loaded.cert else None
    if certificate is None or certificate.public_key() != key.public_key():
        if certificates or certificate is not None:
            raise PfxError(
                "key_mismatch",
                "The private key in the file does not belong to any certificate in it. Export "
                "the certificate together with its own private key.",
            )
        raise PfxError(
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
            raise PfxError(
                "weak_key",
                f"The certificate's key ({description} bits) is too weak: the gateway needs "
                f"{_SUPPORTED_KEYS}. Get a new certificate with a stronger key.",
            )
        if key.key_size <= MAX_RSA_BITS:
            return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in ("secp256r1", "secp384r1"):
        return "EC", key.curve.key_size
    raise PfxError(
        "unsupported_key",
        f"The certificate's key ({description}) is not supported by the gateway. Use a "
        f"certificate with {_SUPPORTED_KEYS}.",
    )


# Presenting certificate facts ---------------------------------------------------------------


def _clean(text: str) -> str:
    """Replace control, formatting (bidi overrides) and unassigned characters in untrusted text."""
    return "".join("\ufffd" if unicodedata.category(c) in _UNSAFE_CHARS else c for c in text)


def _serial(number: int) -> str:
    digits = f"{abs(number):X}"
    digits = digits.zfill(len(digits) + len(digits) % 2)
    return f"-{digits}" if number < 0 else digits


def _sans(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(_clean(_general_name(name)) for name in extension.value)


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string(_NAME_KEYWORDS)}"
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        oid = name.type_id.dotted_string
        if oid == _UPN:
            try:
                value = der.read_all(name.value).expect(der.UTF8_STRING).content
                return f"othername:UPN:{value.decode('utf-8', 'replace')}"
            except der.DerError:
                pass
        return f"othername:{oid}"
    return str(name)


def _self_signed(certificate: x509.Certificate) -> bool:
    if certificate.subject != certificate.issuer:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True

"""The facts the portal shows for a certificate: names, alternative names, serial, validity.

Everything here is read from an x509.Certificate that has already been loaded, so it serves
client certificates (from a .pfx file) and CA certificates alike. Text taken from a certificate
is untrusted: clean_untrusted_text() neutralises what could disguise it on a page or a terminal.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from certificates import der
from certificates.upload_errors import UploadError

_UPN = "1.3.6.1.4.1.311.20.2.3"
_NAME_KEYWORDS = {NameOID.EMAIL_ADDRESS: "E"}  # as Windows and the gateway's portal show it
_UNSAFE_CHARS = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


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


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 of the DER, upper-case hex without separators, as the gateway shows thumbprints."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - an identifier


def describe_certificate(certificate: x509.Certificate) -> CertificateFacts:
    """The facts shown for a certificate; raise UploadError when they cannot be read."""
    try:
        if certificate.serial_number.bit_length() > 512:  # RFC 5280 allows 160
            raise ValueError("serial number too long")
        return CertificateFacts(
            subject=clean_untrusted_text(certificate.subject.rfc4514_string(_NAME_KEYWORDS)),
            issuer=clean_untrusted_text(certificate.issuer.rfc4514_string(_NAME_KEYWORDS)),
            sans=_sans(certificate),
            serial=_serial(certificate.serial_number),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            thumbprint=certificate_thumbprint(certificate),
            sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex().upper(),
            self_signed=_self_signed(certificate),
        )
    except (ValueError, x509.DuplicateExtension) as exc:  # found when first read
        raise UploadError(
            "invalid_certificate",
            "The certificate cannot be read: its names or extensions are not encoded correctly. "
            "Ask whoever issued it for a corrected certificate.",
        ) from exc


def clean_untrusted_text(text: str) -> str:
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
    return tuple(clean_untrusted_text(_general_name(name)) for name in extension.value)


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

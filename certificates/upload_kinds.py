"""Recognise what kind of file was uploaded, and say what to upload instead.

People upload whatever their tools exported: PEM text, DER certificates and keys, base64 copies
of a .pfx file, signing requests (CSR), PKCS#7 (.p7b) bundles. Each gets its own message before
any cryptographic work starts. pfx_outer_element() lets through exactly one complete PKCS#12
file for certificates/pfx.py; load_public_certificate() loads exactly one public certificate.
"""

from __future__ import annotations

import base64
import re

from cryptography import x509

from certificates import der
from certificates.upload_errors import CertificateError, UploadError

MAX_CERTIFICATE_BYTES = 64 * 1024

EXPORT_PFX_ADVICE = "Export the certificate with its private key as a .pfx (PKCS#12) file"

# PKCS#7 content types, which also frame the parts of a PKCS#12 file.
PKCS7_DATA = "1.2.840.113549.1.7.1"
PKCS7_SIGNED_DATA = "1.2.840.113549.1.7.2"

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")


def require_certificate_authority(certificate: x509.Certificate) -> None:
    """Refuse a certificate that says it is not a CA (basic constraints CA:FALSE): a back end's
    certificate cannot be verified against it, so trusting it would only look like trust."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return  # old roots (X.509 v1) carry no extensions at all
    if not constraints.ca:
        raise CertificateError(
            "not_a_ca",
            "This certificate is not a CA certificate (its basic constraints say CA:FALSE): it "
            "cannot sign a back end's certificate. Upload the certificate of the CA that issued "
            "the back end's certificate, or switch certificate chain validation off for a "
            "self-signed back end.",
        )


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


def pfx_outer_element(data: bytes) -> der.Element:
    """The file's outer element, once sure the file is a complete PKCS#12 file and nothing else."""
    if _is_pem(data):
        raise _pem_error(data)
    not_pfx = UploadError(
        "not_pfx",
        "This file is not a .pfx (PKCS#12) file. Choose the .pfx or .p12 file that holds the "
        "certificate and its private key.",
    )
    if data[0] != der.SEQUENCE:
        if _is_base64_pfx(data):
            raise UploadError(
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
            raise UploadError(
                "truncated",
                "The file is incomplete: it ends before the end of its content, probably because "
                "a download, upload or copy was interrupted. Copy or export the file again.",
            ) from None
        raise not_pfx from None
    except der.DerError:
        raise not_pfx from None
    if kind == "certificate":
        raise UploadError(
            "not_pfx_der_certificate",
            "This is a certificate in DER format (.cer, .crt) without its private key. "
            f"{EXPORT_PFX_ADVICE}.",
        )
    if kind == "key":
        raise UploadError(
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
        raise UploadError(
            "trailing_data",
            "The file has extra data after the end of its content. It may have been damaged "
            "in transfer; copy or export the file again.",
        )
    return outer


# What a file holds --------------------------------------------------------------------------


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


def _der_kind(outer: der.Element) -> str | None:
    """What a complete DER element holds: pfx, certificate, key, pkcs7, csr, or None."""
    if outer.tag != der.SEQUENCE:
        return None
    items = outer.children()
    tags = [item.tag for item in items]
    if len(items) >= 2 and tags[:2] == [der.INTEGER, der.SEQUENCE]:
        if _first_oid(items[1]) in (PKCS7_DATA, PKCS7_SIGNED_DATA):
            return "pfx"
        if len(items) >= 3 and tags[2] == der.OCTET_STRING:
            return "key"  # PKCS#8 PrivateKeyInfo
    if _first_oid(outer) == PKCS7_SIGNED_DATA:
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


def _is_base64_pfx(data: bytes) -> bool:
    try:
        raw = base64.b64decode(re.sub(rb"\s+", b"", data), validate=True)
    except ValueError:
        return False
    return raw[:1] == b"\x30" and b"\x02\x01\x03\x30" in raw[2:12]


# Messages for what is not a .pfx file -------------------------------------------------------


def _pem_error(data: bytes) -> UploadError:
    kinds = set(_pem_kinds(data))
    if {"certificate", "key"} <= kinds:
        return UploadError(
            "not_pfx_pem_certificate_and_key",
            "This is a PEM text file with a certificate and a private key, not a .pfx file. "
            "Combine them into a .pfx (PKCS#12) file, for example with "
            "'openssl pkcs12 -export -in certificate.pem -inkey key.pem -out certificate.pfx'.",
        )
    if "certificate" in kinds:
        return UploadError(
            "not_pfx_pem_certificate",
            f"This is a certificate in PEM format without its private key. {EXPORT_PFX_ADVICE}.",
        )
    if "key" in kinds:
        return UploadError(
            "not_pfx_pem_key",
            "This is a private key in PEM format without its certificate. Export the certificate "
            "together with this key as a .pfx (PKCS#12) file.",
        )
    if "csr" in kinds:
        return _csr_error()
    if "pkcs7" in kinds:
        return _bundle_error()
    return UploadError(
        "not_pfx_pem", f"This is a PEM text file, not a .pfx file. {EXPORT_PFX_ADVICE}."
    )


def _csr_error() -> UploadError:
    return UploadError(
        "not_pfx_csr",
        "This is a certificate signing request (CSR), not a certificate. Once the certificate "
        f"authority has issued the certificate, {EXPORT_PFX_ADVICE[0].lower()}"
        f"{EXPORT_PFX_ADVICE[1:]}.",
    )


def _bundle_error() -> UploadError:
    return UploadError(
        "not_pfx_pkcs7",
        "This is a PKCS#7 (.p7b) certificate bundle, which never contains a private key. "
        f"{EXPORT_PFX_ADVICE}.",
    )


# Messages for what is not a single public certificate ---------------------------------------


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

"""The REST API's certificate entities: client certificates and trusted CA certificates.

Each entity's writable properties are declared once (a `Properties` model: validation and the
OpenAPI schema come from it); lib/rest_dispatch.py answers the requests on both route shapes.
Writes go through certificates.actions, like the pages'.
"""

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables
from pydantic import Field

from certificates.actions import (
    CertificateInUse,
    delete_certificate,
    import_ca_certificate,
    import_certificate,
)
from certificates.forms import PASSWORD_ERROR_CODES
from certificates.models import CACertificate, Certificate
from certificates.pfx import MAX_PFX_BYTES
from certificates.upload_errors import UploadError
from certificates.upload_kinds import MAX_CERTIFICATE_BYTES
from certificates.validators import IDENTIFIER_MAX_LENGTH, validate_identifier
from lib.rest import (
    Properties,
    RestError,
    decode_base64,
    detail,
    read_only,
    utc_timestamp,
)
from lib.rest_dispatch import Resource

IDENTIFIER_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{IDENTIFIER_MAX_LENGTH - 1}}}$"


class EntityResource(Resource):
    """A resource whose entities are named by the portal's Ids."""

    name_schema = {
        "type": "string",
        "pattern": IDENTIFIER_PATTERN,
        "maxLength": IDENTIFIER_MAX_LENGTH,
    }

    def check_name(self, name: str) -> None:
        try:
            validate_identifier(name)
        except ValidationError:
            raise RestError(
                400,
                "InvalidIdentifier",
                "Ids are up to 80 letters, digits, '-', '_' or '.', starting with a letter or "
                "digit.",
                [detail("InvalidIdentifier", "name", f"Not a valid Id: {name[:100]!r}")],
            ) from None


class CertificateFacts(Properties):
    subject: str | None = read_only(
        "The certificate's subject, e.g. 'CN=orders.example.com, O=Example'."
    )
    thumbprint: str | None = read_only(
        "SHA-1 of the certificate, upper-case hex.", pattern="^[0-9A-F]{40}$"
    )
    expiration_date: str | None = read_only(
        "When the certificate expires (UTC).", format="date-time"
    )


class CertificateProperties(CertificateFacts):
    """A client certificate: its PFX file (base64) and the file's password."""

    data: str = Field(
        description="The .pfx (PKCS#12) file, base64.",
        json_schema_extra={"writeOnly": True, "format": "byte"},
    )
    password: str = Field(
        "",
        description="The file's password; used once, never stored.",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )


class CACertificateProperties(CertificateFacts):
    """A trusted CA certificate: a public certificate, PEM or DER, base64."""

    data: str = Field(
        description="The certificate, PEM or DER, base64.",
        json_schema_extra={"writeOnly": True, "format": "byte"},
    )


def _certificate_properties(certificate) -> dict:
    return {
        "subject": certificate.subject,
        "thumbprint": certificate.thumbprint,
        "expirationDate": utc_timestamp(certificate.not_after),
    }


def _upload_problem(exc: UploadError, target: str) -> RestError:
    if exc.code == "duplicate":
        return RestError(409, "DuplicateCertificate", exc.message, [detail(exc.code, target, "")])
    if exc.code in ("exists", "concurrent_change"):
        return RestError(409, "Conflict", exc.message, [detail(exc.code, "name", exc.message)])
    if exc.code == "busy":  # every file-parsing helper is busy: a moment later will do
        return RestError(429, "TooManyRequests", exc.message, [detail(exc.code, target, "")])
    return RestError(
        400, "InvalidCertificate", exc.message, [detail(exc.code, target, exc.message)]
    )


def _in_use(exc: CertificateInUse) -> RestError:
    return RestError(
        409,
        "CertificateInUse",
        str(exc),
        [
            detail("UsedBy", str(usage), f"Used by {usage}.", url=usage.get_absolute_url())
            for usage in exc.usages
        ],
    )


class CertificateResource(EntityResource):
    """Client certificates: PUT a PFX (base64) and its password; PUT over an Id rotates it."""

    type = "certificates"
    model = Certificate
    write_model = CertificateProperties
    component, parameter, title = "Certificate", "certificateId", "Client certificates"
    about = (
        "Certificates the gateway presents to back ends. PUT a .pfx file under an Id; PUT "
        "again under the same Id to replace (rotate) it: everything that uses the Id presents "
        "the new certificate from its next call."
    )
    example = {"data": "MIIKOQIBAzCCCe8GCSqGSIb3DQEHAaCC...", "password": "..."}
    id_example = "orders-client"
    filters = {
        "name": "name",
        "subject": "subject",
        "thumbprint": "thumbprint",
        "expirationDate": "not_after",
    }
    permissions = {
        "view": "certificates.view_certificate",
        "add": "certificates.add_certificate",
        "change": "certificates.change_certificate",
        "delete": "certificates.delete_certificate",
    }

    def properties(self, obj, route) -> dict:
        return _certificate_properties(obj)

    @sensitive_variables("password", "data", "properties")
    def put(self, request, parent, name, properties, existing, route):
        data = decode_base64(properties.data, "properties.data", max_bytes=MAX_PFX_BYTES)
        password = properties.password
        try:
            result = import_certificate(name, data, password, replace=True, request=request)
        except UploadError as exc:
            field = "password" if exc.code in PASSWORD_ERROR_CODES else "data"
            raise _upload_problem(exc, f"properties.{field}") from None
        return result.certificate

    def delete(self, request, obj):
        try:
            delete_certificate(obj, request=request)
        except CertificateInUse as exc:
            raise _in_use(exc) from None


class CACertificateResource(EntityResource):
    """Trusted CA certificates: PUT a public certificate (PEM or DER, base64)."""

    type = "caCertificates"
    model = CACertificate
    write_model = CACertificateProperties
    component, parameter, title = "CaCertificate", "caCertificateId", "CA certificates"
    about = "Public certificates trusted when verifying back ends (a private CA)."
    example = {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t..."}
    id_example = "internal-root"
    filters = CertificateResource.filters
    permissions = {
        "view": "certificates.view_cacertificate",
        "add": "certificates.add_cacertificate",
        "change": "certificates.change_cacertificate",
        "delete": "certificates.delete_cacertificate",
    }

    def properties(self, obj, route) -> dict:
        return _certificate_properties(obj)

    def put(self, request, parent, name, properties, existing, route):
        data = decode_base64(properties.data, "properties.data", max_bytes=MAX_CERTIFICATE_BYTES)
        try:
            return import_ca_certificate(name, data, replace=True, request=request)
        except UploadError as exc:
            raise _upload_problem(exc, "properties.data") from None

    def delete(self, request, obj):
        try:
            delete_certificate(obj, request=request)
        except CertificateInUse as exc:
            raise _in_use(exc) from None


CERTIFICATES = CertificateResource()
CA_CERTIFICATES = CACertificateResource()

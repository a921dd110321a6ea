"""The REST API's certificate entities, and the contract every entity of the API shares.

An entity is `{"id", "type", "name", "properties"}`. A `Resource` says how one kind of entity is
found, shown, written and deleted; portal/rest.py turns resources into views (authentication,
methods, ETags, paging, errors). Writes go through certificates.actions, like the pages'.
This module sits on the lowest floor with entities, so apis/rest.py builds on it.
"""

import base64
import binascii
import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

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
from certificates.validators import validate_identifier


class RestError(Exception):
    """An answer in the API's error shape: {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, details=()):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def detail(code: str, target: str, message: str, **extra) -> dict:
    return {"code": code, "target": target, "message": message, **extra}


def invalid(target: str, message: str, code: str = "ValidationError") -> RestError:
    return RestError(400, "ValidationError", message, [detail(code, target, message)])


def utc_timestamp(moment: dt.datetime) -> str:
    """'2027-01-01T00:00:00Z', as the reference writes dates."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Properties:
    """Typed reading of an entity's `properties` (or a section of them) from a request body.

    Unknown keys are ignored, as the reference's own payloads carry many this portal has no use
    for; a known key of the wrong type is refused with its JSON path as the error's target.
    """

    def __init__(self, data: dict, path: str = "properties"):
        self.data = data
        self.path = path

    def target(self, key: str) -> str:
        return f"{self.path}.{key}"

    def _get(self, key: str, required: bool):
        value = self.data.get(key)
        if value is None and required:
            raise invalid(self.target(key), f"{self.target(key)} is required.", "Required")
        return value

    def text(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise invalid(self.target(key), f"{self.target(key)} must be a string.", "InvalidType")
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid(
                self.target(key), f"{self.target(key)} must be true or false.", "InvalidType"
            )
        return value

    def texts(self, key: str) -> list[str] | None:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid(
                self.target(key), f"{self.target(key)} must be a list of strings.", "InvalidType"
            )
        return value

    def section(self, key: str) -> "Properties":
        value = self._get(key, False)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise invalid(self.target(key), f"{self.target(key)} must be an object.", "InvalidType")
        return Properties(value, self.target(key))

    def base64(self, key: str, *, max_bytes: int) -> bytes:
        value = self.text(key, required=True)
        target = self.target(key)
        if len(value) > (max_bytes // 3 + 1) * 4 + len(value) // 60 + 64:
            raise RestError(
                413,
                "RequestTooLarge",
                f"{target} decodes to more than {max_bytes // 1024} KB, far more than a "
                "certificate needs.",
                [detail("TooLarge", target, "The file is too large.")],
            )
        try:
            return base64.b64decode(re.sub(r"\s+", "", value), validate=True)
        except (binascii.Error, ValueError):
            hint = " Encode the whole file, PEM text included." if "-----BEGIN" in value else ""
            raise invalid(
                target, f"{target} must be the file's content in base64.{hint}", "InvalidBase64"
            ) from None


def reference_name(value: str, kind: str) -> str:
    """An Id, also from a resource id such as '/.../certificates/orders-client'."""
    return value.rstrip("/").rsplit(f"/{kind}/", 1)[-1]


class Resource:
    """One kind of entity under /api/. Subclasses fill in the blanks."""

    type = ""  # the collection's URL segment, and each entity's "type"
    model = None
    methods = ("GET", "PUT", "DELETE")
    parent: "Resource | None" = None  # the entity these live under, e.g. an API's operations
    permissions: dict[str, str] = {}  # "view", "add", "change", "delete" -> permission name

    @property
    def noun(self) -> str:
        """What one entity is called in messages: 'certificate', 'API'."""
        return str(self.model._meta.verbose_name)

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

    def queryset(self, parent):
        return self.model.objects.all()

    def lookup(self, parent, name: str, *, for_update: bool = False):
        queryset = self.queryset(parent)
        if for_update:
            queryset = queryset.select_for_update()
        return queryset.filter(name=name).first()

    def name_of(self, obj) -> str:
        return obj.name

    def path(self, obj, parent=None) -> str:
        prefix = self.parent.path(parent) if self.parent else ""
        return f"{prefix}/{self.type}/{self.name_of(obj)}"

    def entity(self, obj, parent=None) -> dict:
        return {
            "id": self.path(obj, parent),
            "type": self.type,
            "name": self.name_of(obj),
            "properties": self.properties(obj),
        }

    def properties(self, obj) -> dict:
        raise NotImplementedError

    def put(self, request, parent, name: str, properties: Properties, existing):
        """Create or replace the entity; return it. Raise RestError on bad input."""
        raise NotImplementedError

    def delete(self, request, obj) -> None:
        raise NotImplementedError


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


class CertificateResource(Resource):
    """Client certificates: PUT a PFX (base64) and its password; PUT over an Id rotates it."""

    type = "certificates"
    model = Certificate
    permissions = {
        "view": "certificates.view_certificate",
        "add": "certificates.add_certificate",
        "change": "certificates.change_certificate",
        "delete": "certificates.delete_certificate",
    }

    def properties(self, obj) -> dict:
        return _certificate_properties(obj)

    @sensitive_variables("password", "data")
    def put(self, request, parent, name, properties, existing):
        data = properties.base64("data", max_bytes=MAX_PFX_BYTES)
        password = properties.text("password")
        try:
            result = import_certificate(name, data, password, replace=True, request=request)
        except UploadError as exc:
            field = "password" if exc.code in PASSWORD_ERROR_CODES else "data"
            raise _upload_problem(exc, properties.target(field)) from None
        return result.certificate

    def delete(self, request, obj):
        try:
            delete_certificate(obj, request=request)
        except CertificateInUse as exc:
            raise _in_use(exc) from None


class CACertificateResource(Resource):
    """Trusted CA certificates: PUT a public certificate (PEM or DER, base64)."""

    type = "caCertificates"
    model = CACertificate
    permissions = {
        "view": "certificates.view_cacertificate",
        "add": "certificates.add_cacertificate",
        "change": "certificates.change_cacertificate",
        "delete": "certificates.delete_cacertificate",
    }

    def properties(self, obj) -> dict:
        return _certificate_properties(obj)

    def put(self, request, parent, name, properties, existing):
        data = properties.base64("data", max_bytes=MAX_CERTIFICATE_BYTES)
        try:
            return import_ca_certificate(name, data, replace=True, request=request)
        except UploadError as exc:
            raise _upload_problem(exc, properties.target("data")) from None

    def delete(self, request, obj):
        try:
            delete_certificate(obj, request=request)
        except CertificateInUse as exc:
            raise _in_use(exc) from None


CERTIFICATES = CertificateResource()
CA_CERTIFICATES = CACertificateResource()

"""Changes to the certificate inventory, shared by the pages, the commands and the REST API.

Each function validates, writes in one transaction and records the audit event, so the rules
live in one place whoever the caller is.
"""

from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from audit.models import Action
from audit.trail import record
from certificates.models import CACertificate, Certificate
from certificates.parsing import Limits, open_pfx, open_public_certificate
from certificates.upload_errors import UploadError


class CertificateExists(Exception):
    """An upload under an Id that exists, without the confirmation to replace it."""

    def __init__(self, existing):
        self.existing = existing
        super().__init__(
            f"A certificate with the Id {existing.name} already exists "
            f"(thumbprint {existing.thumbprint}). Confirm the replacement to rotate it."
        )


class DuplicateCertificate(UploadError):
    def __init__(self, existing_name: str):
        super().__init__(
            "duplicate",
            f"This certificate is already uploaded with the Id {existing_name}. "
            "Use that Id, or upload a different certificate.",
        )


class CertificateInUse(Exception):
    def __init__(self, certificate, usages):
        self.certificate = certificate
        self.usages = usages
        names = ", ".join(str(usage) for usage in usages)
        super().__init__(
            f"The certificate {certificate.name} is used by {names}. "
            "Remove it from them before deleting it."
        )


@dataclass(frozen=True)
class ImportResult:
    certificate: Certificate
    created: bool
    validity_problem: str | None


def parse_limits() -> Limits:
    """How long an uploaded file may take to open, and in how many helper processes at once."""
    return Limits(
        seconds=settings.PORTAL_UPLOAD_PARSE_SECONDS, helpers=settings.PORTAL_UPLOAD_PARSE_HELPERS
    )


def certificate_summary(certificate) -> dict:
    """The audit trail's before/after picture of a certificate: public facts only."""
    return {
        "subject": certificate.subject,
        "thumbprint": certificate.thumbprint,
        "notAfter": certificate.not_after.isoformat(),
    }


def _pem(certificates) -> str:
    return "".join(cert.public_bytes(Encoding.PEM).decode() for cert in certificates)


def _set_uploader(certificate, request, actor, actor_name: str = "") -> None:
    user = actor or getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        certificate.uploaded_by = user
        certificate.uploaded_by_name = user.get_username()
    else:
        certificate.uploaded_by = None
        certificate.uploaded_by_name = actor_name


def import_certificate(
    name: str,
    data: bytes,
    password: str,
    *,
    replace: bool,
    request=None,
    actor=None,
    actor_name: str = "",
) -> ImportResult:
    """Store a PFX under `name`, or replace the certificate of that Id when `replace` is set.

    Raises UploadError (bad file or password), DuplicateCertificate or CertificateExists.
    The PFX bytes and the password are never stored or logged.
    """
    parsed = open_pfx(data, password, parse_limits())
    try:
        with transaction.atomic():
            certificate = Certificate.objects.select_for_update().filter(name=name).first()
            created = certificate is None
            if not created and not replace:
                raise CertificateExists(certificate)
            twin = Certificate.objects.filter(thumbprint=parsed.thumbprint).exclude(name=name)
            if twin_name := twin.values_list("name", flat=True).first():
                raise DuplicateCertificate(twin_name)
            before = None if created else certificate_summary(certificate)
            if created:
                certificate = Certificate(name=name)
            else:
                certificate.version += 1
            certificate.set_facts(parsed)
            certificate.key_type = parsed.key_type
            certificate.key_size = parsed.key_size
            certificate.friendly_name = parsed.friendly_name
            certificate.certificate_pem = _pem([parsed.certificate])
            certificate.chain_pem = _pem(parsed.chain)
            certificate.set_private_key(parsed.private_key_der())
            _set_uploader(certificate, request, actor, actor_name)
            certificate.uploaded_at = timezone.now()
            certificate.save()
            record(
                request,
                Action.CERTIFICATE_UPLOADED if created else Action.CERTIFICATE_REPLACED,
                object_type="certificate",
                object_id=name,
                before=before,
                after=certificate_summary(certificate),
                actor=actor,
                actor_name=actor_name,
            )
    except IntegrityError:
        # Another upload created the same Id between our check and our insert.
        raise UploadError(
            "concurrent_change",
            "Another upload created this Id at the same moment. Reload and try again.",
        ) from None
    return ImportResult(certificate, created, parsed.validity_problem())


def delete_certificate(certificate, *, request=None, actor=None) -> None:
    """Delete a client or CA certificate; raise CertificateInUse (and audit it) while used."""
    if isinstance(certificate, Certificate):
        kind = "certificate"
        blocked, deleted = Action.CERTIFICATE_DELETE_BLOCKED, Action.CERTIFICATE_DELETED
    else:
        kind = "ca-certificate"
        blocked, deleted = Action.CA_CERTIFICATE_DELETE_BLOCKED, Action.CA_CERTIFICATE_DELETED
    pk = certificate.pk
    try:
        with transaction.atomic():
            # Lock the row first, as assigning it does: an assignment in flight commits before
            # the usages are checked, and the deletion is then refused as in use, not failed.
            type(certificate).objects.select_for_update().filter(pk=certificate.pk).first()
            certificate.delete()
    except (ProtectedError, IntegrityError) as exc:
        # IntegrityError: the database refused at commit, a usage made by a path that does
        # not lock the row. Read the usages again with what they name joined: the error's
        # objects carry their keys only, and naming each would cost queries per usage.
        certificate.pk = pk  # delete() cleared it before the commit was refused
        protected = getattr(exc, "protected_objects", ())
        usages = sorted(certificate.usages() or protected, key=str)
        if not usages:
            raise
        record(
            request,
            blocked,
            object_type=kind,
            object_id=certificate.name,
            message="Used by " + ", ".join(str(usage) for usage in usages),
            actor=actor,
        )
        raise CertificateInUse(certificate, usages) from None
    record(
        request,
        deleted,
        object_type=kind,
        object_id=certificate.name,
        before=certificate_summary(certificate),
        actor=actor,
    )


def import_ca_certificate(
    name: str, data: bytes, *, replace: bool = False, request=None, actor=None
) -> CACertificate:
    """Store a public CA certificate (PEM or DER). Raises UploadError on bad input.

    With `replace`, an upload under an existing Id replaces that CA certificate; every backend
    that trusts the Id trusts the new one from its next call.
    """
    opened = open_public_certificate(data, parse_limits())
    try:
        with transaction.atomic():
            ca = CACertificate.objects.select_for_update().filter(name=name).first()
            if ca is not None and not replace:
                raise UploadError("exists", f"A CA certificate with the Id {name} already exists.")
            before = None if ca is None else certificate_summary(ca)
            ca = ca or CACertificate(name=name)
            ca.certificate_pem = _pem([opened.certificate])
            ca.set_facts(opened)
            _set_uploader(ca, request, actor)
            ca.uploaded_at = timezone.now()
            ca.save()
            record(
                request,
                Action.CA_CERTIFICATE_UPLOADED
                if before is None
                else Action.CA_CERTIFICATE_REPLACED,
                object_type="ca-certificate",
                object_id=name,
                before=before,
                after=certificate_summary(ca),
                actor=actor,
            )
    except IntegrityError:
        raise UploadError(
            "concurrent_change",
            "Another upload created this Id at the same moment. Reload and try again.",
        ) from None
    return ca

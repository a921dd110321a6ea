"""Owner, contact and tags of a client certificate: inventory facts, audited like any change."""

from django.db import transaction

from audit.models import Action
from audit.trail import record
from certificates.models import Certificate

FIELDS = ("owner", "contact", "tags")


def ownership_summary(certificate: Certificate) -> dict:
    return {field: getattr(certificate, field) for field in FIELDS}


def set_ownership(
    certificate: Certificate, *, owner: str, contact: str, tags: list[str], request=None
) -> bool:
    """Store the three facts and record the change with before and after; False if unchanged."""
    with transaction.atomic():
        # Read the current values under the write lock, so the audit's "before" is exact.
        current = Certificate.objects.select_for_update().only(*FIELDS).get(pk=certificate.pk)
        before = ownership_summary(current)
        after = {"owner": owner, "contact": contact, "tags": list(tags)}
        if before == after:
            return False
        for field, value in after.items():
            setattr(certificate, field, value)
        certificate.save(update_fields=list(FIELDS))
        record(
            request,
            Action.CERTIFICATE_OWNERSHIP_CHANGED,
            object_type="certificate",
            object_id=certificate.name,
            before=before,
            after=after,
        )
    return True

import json

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from lib.indexes import TrigramIndex


class Action(models.TextChoices):
    """Everything the trail records. Every record() call names one of these."""

    SIGN_IN = "sign-in", "Signed in"
    SIGN_IN_FAILED = "sign-in-failed", "Sign-in failed"
    SIGN_IN_LOCKED_OUT = "sign-in-locked-out", "Sign-in locked out"
    CHANGE_REFUSED = "change-refused", "Change refused"
    CERTIFICATE_UPLOADED = "certificate-uploaded", "Certificate uploaded"
    CERTIFICATE_REPLACED = "certificate-replaced", "Certificate replaced"
    CERTIFICATE_DELETED = "certificate-deleted", "Certificate deleted"
    CERTIFICATE_DELETE_BLOCKED = "certificate-delete-blocked", "Certificate deletion blocked"
    CERTIFICATE_OWNERSHIP_CHANGED = "certificate-ownership-changed", "Certificate ownership changed"
    CA_CERTIFICATE_UPLOADED = "ca-certificate-uploaded", "CA certificate uploaded"
    CA_CERTIFICATE_REPLACED = "ca-certificate-replaced", "CA certificate replaced"
    CA_CERTIFICATE_DELETED = "ca-certificate-deleted", "CA certificate deleted"
    CA_CERTIFICATE_DELETE_BLOCKED = (
        "ca-certificate-delete-blocked",
        "CA certificate deletion blocked",
    )
    API_CREATED = "api-created", "API created"
    API_CHANGED = "api-changed", "API changed"
    API_DELETED = "api-deleted", "API deleted"
    POLICY_CHANGED = "policy-changed", "Policy changed"
    OPERATION_CREATED = "operation-created", "Operation created"
    OPERATION_CHANGED = "operation-changed", "Operation changed"
    OPERATION_DELETED = "operation-deleted", "Operation deleted"
    BACKEND_CREATED = "backend-created", "Backend created"
    BACKEND_CHANGED = "backend-changed", "Backend changed"
    BACKEND_DELETED = "backend-deleted", "Backend deleted"
    API_TOKEN_CREATED = "api-token-created", "API token created"
    API_TOKEN_REVOKED = "api-token-revoked", "API token revoked"
    KEYRING_ROTATED = "keyring-rotated", "Key ring rotated"
    USER_CREATED = "user-created", "User created"
    USER_DEACTIVATED = "user-deactivated", "User deactivated"
    USER_REACTIVATED = "user-reactivated", "User reactivated"
    USER_UNLOCKED = "user-unlocked", "User unlocked"
    ROLE_GRANTED = "role-granted", "Role granted"
    PASSWORD_SET = "password-set", "Password set"


class AuditTrailIsAppendOnly(Exception):
    """Raised on any attempt to change or delete an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditTrailIsAppendOnly("Audit events are never changed.")

    def delete(self):
        raise AuditTrailIsAppendOnly("Audit events are never deleted.")


def _display(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(_display(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class AuditEvent(models.Model):
    """One thing somebody did, or tried to do, in the portal. Never edited, never deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text too, so the trail still names a user that has since been deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=200, blank=True, db_index=True)
    source_address = models.GenericIPAddressField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The log's order, with the key that breaks ties (keyset pages seek in it), and
            # the same order within one action or one object type.
            models.Index(fields=["-at", "-id"], name="audit_event_order"),
            models.Index(fields=["action", "-at", "-id"], name="audit_event_action"),
            models.Index(fields=["object_type", "-at", "-id"], name="audit_event_type"),
            # "Who" and "Object" filter on a part of the text (icontains: UPPER ... LIKE).
            TrigramIndex(Upper("actor_name"), name="audit_event_actor_trgm"),
            TrigramIndex(Upper("object_id"), name="audit_event_object_trgm"),
        ]

    def __str__(self):
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.object_id}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditTrailIsAppendOnly("Audit events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailIsAppendOnly("Audit events are never deleted.")

    def changes(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for each field that differs, as short display text."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        found = []
        for key in list(before) + [key for key in after if key not in before]:
            old, new = before.get(key), after.get(key)
            if self.before is not None and self.after is not None and old == new:
                continue
            found.append((key, _display(old), _display(new)))
        return found

    def changes_text(self) -> str:
        """The changes on one line, for exports: "owner: — → Payments; tags: a → a, b"."""
        return "; ".join(f"{key}: {old} → {new}" for key, old, new in self.changes())

"""The portal's key ring: read from settings, the columns it encrypts, rotation and the start check.

A model declares its encrypted columns in ``encrypted_columns`` (a tuple of EncryptedColumn); this
module finds them through the app registry, so it never imports the apps above it.

Each stored token names the key it was encrypted under and carries a GCM tag, so the data itself
remembers its key ring: decrypting one stored token proves that the configured ring holds that
key, without storing anything else. ``verify_stored_data`` does that for every encrypted column
and refuses a ring that holds none of the data's keys (a lost key ring file replaced by a new one
would otherwise make every secret unreadable while new ones are written under the wrong ring).
"""

import logging
import os
from dataclasses import dataclass
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from certificates.keystore import DecryptionError, KeyRing, KeyRingError, token_prefix

logger = logging.getLogger("certificates.keyring")


@lru_cache(maxsize=4)
def _parse(text: str) -> KeyRing:
    return KeyRing.parse(text)


def current() -> KeyRing:
    """The configured key ring; raises ImproperlyConfigured rather than run without one."""
    text = getattr(settings, "PORTAL_KEYRING", "") or ""
    if not text.strip():
        raise ImproperlyConfigured(
            "PORTAL_KEYRING is empty: the portal never stores a private key in clear."
        )
    try:
        return _parse(text)
    except KeyRingError as exc:
        raise ImproperlyConfigured(f"PORTAL_KEYRING is not usable: {exc}") from None


def check_configured() -> None:
    current()


@dataclass(frozen=True)
class EncryptedColumn:
    """A model field holding key-ring tokens, what it holds, and the model method giving a row's
    associated data (what binds a token to its row)."""

    field: str
    describes: str
    associated_data: str


def encrypted_columns() -> list[tuple[type, EncryptedColumn]]:
    return [
        (model, column)
        for model in apps.get_models()
        for column in getattr(model, "encrypted_columns", ())
    ]


def _stored(model, column: EncryptedColumn):
    return model._default_manager.exclude(**{column.field: ""}).order_by("-pk")


def _under(column: EncryptedColumn, key_ids) -> Q:
    held = Q(pk__in=[])
    for key_id in key_ids:
        held |= Q(**{f"{column.field}__startswith": token_prefix(key_id)})
    return held


def _row(row) -> str:
    return f"{row._meta.verbose_name} {getattr(row, 'name', row.pk)}"


def _plural(count: int, what: str) -> str:
    return f"{count} {what}(s)"


class RotationError(Exception):
    """A stored value does not decrypt with the configured ring, so it cannot be re-encrypted."""


def reencrypt_stored_data() -> list[tuple[str, int]]:
    """Re-encrypt every stored secret under the ring's newest key, in one transaction.

    Returns (what, how many re-encrypted) per encrypted column. Rows are written with update(),
    so nothing else about them changes (no version bump: the secrets themselves are the same).
    """
    ring = current()
    counts = []
    with transaction.atomic():
        for model, column in encrypted_columns():
            stale = _stored(model, column).exclude(_under(column, [ring.current_key_id]))
            changed = 0
            for row in stale.select_for_update().iterator():
                token = getattr(row, column.field)
                try:
                    fresh = ring.reencrypt(token, getattr(row, column.associated_data)())
                except DecryptionError as exc:
                    raise RotationError(
                        f"The {column.describes} of {_row(row)} cannot be decrypted: {exc} "
                        "Nothing was re-encrypted; put the key it needs back in PORTAL_KEYRING."
                    ) from None
                model._default_manager.filter(pk=row.pk).update(**{column.field: fresh})
                changed += 1
            counts.append((column.describes, changed))
    return counts


def keyring_source() -> str:
    """Where the configured ring comes from, as the operator would name it."""
    if os.environ.get("PORTAL_KEYRING"):
        return "PORTAL_KEYRING"
    if path := os.environ.get("PORTAL_KEYRING_FILE"):
        return f"PORTAL_KEYRING_FILE ({path})"
    return f"the key ring file {settings.DATA_DIR / 'keyring'}"


def _restore_advice() -> str:
    return (
        "Restore the key ring this data was written under: set PORTAL_KEYRING or "
        f"PORTAL_KEYRING_FILE to it, or put it back in {settings.DATA_DIR / 'keyring'} (replacing "
        "the file there)."
    )


def stored_data_problem() -> str | None:
    """Why the configured ring cannot read the stored secrets, or None when it can.

    Refuses when secrets exist and the ring decrypts none of them (a missing ring, for which a
    new one was generated), or when a key of the ring that the data names does not decrypt it (a
    replaced ring reusing key ids). Secrets under a key no longer in the ring while others decrypt
    pass: the ring is the right one (an old key was dropped before rotate_keyring ran), and the
    calls that need those secrets fail with a clear answer.

    A few indexed queries per encrypted column (the newest rows first), whatever the inventory's
    size: every worker runs this at start.
    """
    ring = current()
    tables = set(connection.introspection.table_names())
    unreadable = None  # (column, its newest row) of the first column with nothing readable
    readable = False
    for model, column in encrypted_columns():
        if model._meta.db_table not in tables:
            continue  # not migrated yet: nothing stored
        stored = _stored(model, column)
        sample = stored.filter(_under(column, ring.key_ids)).first()
        if sample is None:
            newest = stored.first()
            if newest is not None and unreadable is None:
                unreadable = (model, column, newest)
            continue
        token = getattr(sample, column.field)
        try:
            ring.decrypt(token, getattr(sample, column.associated_data)())
        except DecryptionError:
            return (
                "The configured key ring is not the one the stored secrets were written under: "
                f"{keyring_source()} has a key named {ring.key_id_of(token)!r}, but it does not "
                f"decrypt the {column.describes} of {_row(sample)}. {_restore_advice()}"
            )
        readable = True
    if unreadable and not readable:
        model, column, newest = unreadable
        count = _stored(model, column).count()
        return (
            "The stored secrets cannot be decrypted with the configured key ring: "
            f"{_plural(count, column.describes)} are encrypted under key "
            f"{ring.key_id_of(getattr(newest, column.field))!r} (and maybe others), and "
            f"{keyring_source()} holds only {', '.join(repr(k) for k in ring.key_ids)}. "
            f"{_restore_advice()}"
        )
    return None


def verify_stored_data() -> None:
    """Stop a server at start when the key ring cannot read the stored secrets.

    Called by every server entry point (portal/wsgi.py) after Django is set up, and by manage.py
    commands through the system check below; settings never query the database. A database that
    cannot be read yet (not migrated, unreachable) holds nothing to protect here.
    """
    try:
        problem = stored_data_problem()
    except DatabaseError as exc:
        logger.warning("The key ring was not checked against stored data: %s", exc)
        return
    if problem:
        raise ImproperlyConfigured(problem)


@checks.register()
def check_stored_data(app_configs=None, **kwargs):
    try:
        verify_stored_data()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="certificates.E001")]
    return []

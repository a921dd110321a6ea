"""CSV and JSON exports of a filtered inventory: one record per certificate, streamed.

Per-row work is nearly all of an export of thousands of certificates, so the rows are read as
tuples rather than model instances, dates and status use one `now` for the whole export, and
the CSV goes out in chunks of rows (lib.csv) rather than line by line.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from certificates.inventory import usages_by_certificate
from certificates.models import EXPIRING_SOON_DAYS
from lib.csv import csv_lines

# JSON key and CSV header, in column order.
FIELDS = [
    ("name", "Id"),
    ("subject", "Subject"),
    ("issuer", "Issuer"),
    ("subjectAlternativeNames", "Subject alternative names"),
    ("thumbprint", "Thumbprint"),
    ("sha256Fingerprint", "SHA-256 fingerprint"),
    ("serialNumber", "Serial number"),
    ("notBefore", "Valid from (UTC)"),
    ("expirationDate", "Expiration date (UTC)"),
    ("daysLeft", "Days left"),
    ("status", "Status"),
    ("keyType", "Key type"),
    ("keySize", "Key size"),
    ("selfSigned", "Self-signed"),
    ("friendlyName", "Friendly name"),
    ("owner", "Owner"),
    ("contact", "Contact"),
    ("tags", "Tags"),
    ("usageCount", "Usage count"),
    ("usedBy", "Used by"),
    ("lastPresentedAt", "Last presented (UTC)"),
    ("uploadedAt", "Uploaded (UTC)"),
    ("uploadedBy", "Uploaded by"),
]
KEYS = [key for key, _ in FIELDS]
# What is read of each certificate, in the order `_values` takes it.
COLUMNS = (
    "pk",
    "name",
    "subject",
    "issuer",
    "sans",
    "thumbprint",
    "sha256_fingerprint",
    "serial",
    "not_before",
    "not_after",
    "key_type",
    "key_size",
    "self_signed",
    "friendly_name",
    "owner",
    "contact",
    "tags",
    "last_presented_at",
    "uploaded_at",
    "uploaded_by_name",
)
# Rows per read from the database, and per chunk of CSV sent.
EXPORT_CHUNK = 500


def _timestamp(value: datetime | None) -> str | None:
    """2026-01-31T12:00:00Z, or None."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value.year < 1000:
        # strftime() does not pad the year; isoformat() does, and takes half the time.
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat(timespec="seconds")[:19] + "Z"


def _status(not_before: datetime, not_after: datetime, now: datetime) -> str:
    """As the model's is_expired, is_not_yet_valid and is_expiring_soon say, at `now`."""
    if not_after <= now:
        return "expired"
    if not_before > now:
        return "not yet valid"
    if not_after <= now + timedelta(days=EXPIRING_SOON_DAYS):
        return "expiring soon"
    return "valid"


def _values(row: tuple, usages: list, now: datetime) -> tuple:
    """One certificate's values in FIELDS order, from its COLUMNS."""
    (
        _,
        name,
        subject,
        issuer,
        sans,
        thumbprint,
        sha256_fingerprint,
        serial,
        not_before,
        not_after,
        key_type,
        key_size,
        self_signed,
        friendly_name,
        owner,
        contact,
        tags,
        last_presented_at,
        uploaded_at,
        uploaded_by_name,
    ) = row
    return (
        name,
        subject,
        issuer,
        list(sans),
        thumbprint,
        sha256_fingerprint,
        serial,
        _timestamp(not_before),
        _timestamp(not_after),
        (not_after - now).days,
        _status(not_before, not_after, now),
        key_type,
        key_size,
        self_signed,
        friendly_name,
        owner,
        contact,
        list(tags),
        len(usages),  # what the list's usage_count annotation counts
        [str(usage) for usage in usages],
        _timestamp(last_presented_at),
        _timestamp(uploaded_at),
        uploaded_by_name,
    )


def _all_values(queryset) -> Iterator[tuple]:
    """The values of every certificate of the (filtered, ordered) queryset.

    The usages of all of them are read first, one query per kind of usage (there are as many
    as APIs and backends, far fewer than certificates); the certificates then stream in chunks.
    """
    now = timezone.now()
    usages = usages_by_certificate(queryset)
    for row in queryset.values_list(*COLUMNS).iterator(chunk_size=EXPORT_CHUNK):
        yield _values(row, usages.get(row[0], []), now)


def records(queryset) -> Iterator[dict]:
    """One record per certificate, keyed as FIELDS say."""
    for values in _all_values(queryset):
        yield dict(zip(KEYS, values, strict=True))


def csv_stream(queryset) -> Iterator[str]:
    """The header line at once (before any query), then the rows in chunks of EXPORT_CHUNK."""
    rows = (
        [
            ("; ".join(str(item) for item in value) if type(value) is list else value)
            for value in values
        ]
        for values in _all_values(queryset)
    )
    return csv_lines([header for _, header in FIELDS], rows, rows_per_chunk=EXPORT_CHUNK)


def json_stream(queryset, *, filters: dict) -> Iterator[str]:
    """{"filters": {...}, "value": [...], "count": N}, written as it goes."""
    yield '{"filters": ' + json.dumps(filters, default=str) + ', "value": ['
    count = 0
    for record in records(queryset):
        yield ("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False)
        count += 1
    yield f'\n], "count": {count}}}\n'

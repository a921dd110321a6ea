"""CSV and JSON exports of a filtered inventory: one record per certificate, streamed."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from audit.csv_export import csv_lines
from certificates.inventory import usages_by_certificate

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
EXPORT_CHUNK = 500


def _timestamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _status(certificate) -> str:
    if certificate.is_expired:
        return "expired"
    if certificate.is_not_yet_valid:
        return "not yet valid"
    if certificate.is_expiring_soon:
        return "expiring soon"
    return "valid"


def certificate_record(certificate, usages: list) -> dict:
    return {
        "name": certificate.name,
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "subjectAlternativeNames": list(certificate.sans),
        "thumbprint": certificate.thumbprint,
        "sha256Fingerprint": certificate.sha256_fingerprint,
        "serialNumber": certificate.serial,
        "notBefore": _timestamp(certificate.not_before),
        "expirationDate": _timestamp(certificate.not_after),
        "daysLeft": certificate.days_left,
        "status": _status(certificate),
        "keyType": certificate.key_type,
        "keySize": certificate.key_size,
        "selfSigned": certificate.self_signed,
        "friendlyName": certificate.friendly_name,
        "owner": certificate.owner,
        "contact": certificate.contact,
        "tags": list(certificate.tags),
        "usageCount": certificate.usage_count,
        "usedBy": [str(usage) for usage in usages],
        "lastPresentedAt": _timestamp(certificate.last_presented_at),
        "uploadedAt": _timestamp(certificate.uploaded_at),
        "uploadedBy": certificate.uploaded_by_name,
    }


def records(queryset) -> Iterator[dict]:
    """One record per certificate of the (filtered, ordered) queryset.

    The usages of all of them are read first, one query per kind of usage (there are as many
    as APIs and backends, far fewer than certificates); the certificates then stream in chunks.
    """
    usages = usages_by_certificate(queryset)
    for certificate in queryset.iterator(chunk_size=EXPORT_CHUNK):
        yield certificate_record(certificate, usages.get(certificate.pk, []))


def _cell(value):
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value


def csv_stream(queryset) -> Iterator[str]:
    rows = ([_cell(record[key]) for key, _ in FIELDS] for record in records(queryset))
    return csv_lines([header for _, header in FIELDS], rows)


def json_stream(queryset, *, filters: dict) -> Iterator[str]:
    """{"filters": {...}, "value": [...], "count": N}, written as it goes."""
    yield '{"filters": ' + json.dumps(filters, default=str) + ', "value": ['
    count = 0
    for record in records(queryset):
        yield ("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False)
        count += 1
    yield f'\n], "count": {count}}}\n'

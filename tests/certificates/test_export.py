"""CSV and JSON exports of the filtered inventory."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.export import FIELDS, _timestamp
from certificates.models import Certificate
from lib.csv import formula_safe
from tests.certificates.factories import (
    fake_certificate,
    fake_certificates,
    use_in_api,
    use_in_backend,
)

pytestmark = pytest.mark.django_db


def body(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def test_csv_has_one_row_per_certificate_with_usage(admin_client):
    first, second = fake_certificates(2)
    use_in_api(first)
    use_in_backend(first)
    Certificate.objects.filter(pk=second.pk).update(owner="Payments", tags=["prod", "pci"])
    response = admin_client.get("/certificates/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="client-certificates-')
    rows = csv_rows(response)
    assert [row["Id"] for row in rows] == ["cert-0000", "cert-0001"]
    assert rows[0]["Used by"] == "API Orders; Backend orders-backend"
    assert rows[0]["Usage count"] == "2"
    assert rows[0]["Last presented (UTC)"] == ""
    assert rows[1]["Owner"] == "Payments"
    assert rows[1]["Tags"] == "prod; pci"
    assert rows[1]["Thumbprint"] == second.thumbprint
    assert rows[1]["Expiration date (UTC)"].endswith("Z")


def test_the_export_uses_the_same_filters_and_order_as_the_list(admin_client):
    now = timezone.now()
    Certificate.objects.bulk_create(
        [
            fake_certificate(1, name="old", not_after=now - timedelta(days=1)),
            fake_certificate(2, name="b-soon", not_after=now + timedelta(days=3)),
            fake_certificate(3, name="a-soon", not_after=now + timedelta(days=9)),
            fake_certificate(4, name="far", not_after=now + timedelta(days=300)),
        ]
    )
    params = {"status": "expiring", "within": 10, "sort": "expires", "page": 2, "per_page": 25}
    rows = csv_rows(admin_client.get("/certificates/export.csv", params))
    assert [row["Id"] for row in rows] == ["b-soon", "a-soon"]
    exported = json.loads(body(admin_client.get("/certificates/export.json", params)))
    assert [item["name"] for item in exported["value"]] == ["b-soon", "a-soon"]
    assert exported["count"] == 2
    assert exported["filters"]["status"] == "expiring"
    assert exported["filters"]["within"] == 10
    expired = csv_rows(admin_client.get("/certificates/export.csv", {"status": "expired"}))
    assert [row["Id"] for row in expired] == ["old"]
    assert expired[0]["Status"] == "expired"
    assert int(expired[0]["Days left"]) < 0  # our own number, not defused


def test_json_carries_the_facts_with_their_types(admin_client):
    [certificate] = fake_certificates(1, self_signed=True, tags=["prod"])
    use_in_api(certificate)
    response = admin_client.get("/certificates/export.json")
    assert response["Content-Type"] == "application/json"
    [item] = json.loads(body(response))["value"]
    assert item["name"] == certificate.name
    assert item["selfSigned"] is True
    assert item["keySize"] == certificate.key_size
    assert item["tags"] == ["prod"]
    assert item["usedBy"] == ["API Orders"]
    assert item["usageCount"] == 1
    assert item["subjectAlternativeNames"] == certificate.sans
    assert item["lastPresentedAt"] is None


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_csv_defuses_formulas_in_untrusted_text(admin_client, hostile):
    fake_certificates(1, subject=hostile, friendly_name=hostile, owner=hostile, contact=hostile)
    [row] = csv_rows(admin_client.get("/certificates/export.csv"))
    for column in ("Subject", "Friendly name", "Owner", "Contact"):
        assert row[column] == "'" + hostile
    assert formula_safe(hostile).startswith("'")


def test_a_reviewer_exports_everything(reviewer_client):
    fake_certificates(3)
    assert len(csv_rows(reviewer_client.get("/certificates/export.csv"))) == 3
    assert json.loads(body(reviewer_client.get("/certificates/export.json")))["count"] == 3


def test_an_export_with_bad_filters_is_refused_with_the_reason(admin_client):
    fake_certificates(3)
    response = admin_client.get("/certificates/export.csv", {"status": "soonish"})
    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith("Nothing was exported, because the address asks for a filter")
    assert "Expiry “soonish” (it offers " in text
    # One message: not the page's "This filter is ignored", nor Django's "Select a valid choice".
    assert "ignored" not in text and "Select a valid choice" not in text


def test_an_outsider_cannot_export(outsider_client):
    assert outsider_client.get("/certificates/export.csv").status_code == 403
    assert outsider_client.get("/certificates/export.json").status_code == 403


def test_other_formats_do_not_exist(admin_client):
    # Without a known extension the address is a certificate Id (and gets its slash).
    assert admin_client.get("/certificates/export.xlsx", follow=True).status_code == 404


def test_the_list_links_to_the_exports(admin_client):
    fake_certificates(1)
    content = admin_client.get("/certificates/", {"usage": "unused"}).content.decode()
    assert 'href="/certificates/export.csv?usage=unused"' in content
    assert 'href="/certificates/export.json?usage=unused"' in content


def test_each_record_says_what_the_certificate_says(admin_client):
    now = timezone.now()
    Certificate.objects.bulk_create(
        [
            fake_certificate(1, name="expired", not_after=now - timedelta(days=2, hours=3)),
            fake_certificate(
                2,
                name="not-yet",
                not_before=now + timedelta(days=1),
                not_after=now + timedelta(days=90),
            ),
            fake_certificate(3, name="soon", not_after=now + timedelta(days=12, hours=5)),
            fake_certificate(
                4,
                name="valid",
                not_after=now + timedelta(days=200),
                sans=["DNS:a.example.test", "IP:10.0.0.1"],
                friendly_name="Friendly",
                owner="Payments",
                contact="pay@example.test",
                tags=["pci", "prod"],
                self_signed=True,
                last_presented_at=now - timedelta(hours=1),
            ),
        ]
    )
    used = Certificate.objects.get(name="valid")
    use_in_api(used)
    use_in_backend(used)
    exported = {
        item["name"]: item
        for item in json.loads(body(admin_client.get("/certificates/export.json")))["value"]
    }
    rows = {row["Id"]: row for row in csv_rows(admin_client.get("/certificates/export.csv"))}
    statuses = {"expired": "expired", "not-yet": "not yet valid", "soon": "expiring soon"}
    for certificate in Certificate.objects.all():
        item, row = exported[certificate.name], rows[certificate.name]
        assert item["status"] == row["Status"] == statuses.get(certificate.name, "valid")
        assert item["daysLeft"] == int(row["Days left"]) == certificate.days_left
        assert item["notBefore"] == row["Valid from (UTC)"] == utc(certificate.not_before)
        assert item["expirationDate"] == utc(certificate.not_after)
        assert item["uploadedAt"] == utc(certificate.uploaded_at)
        assert item["lastPresentedAt"] == (
            utc(certificate.last_presented_at) if certificate.last_presented_at else None
        )
        assert item["subjectAlternativeNames"] == certificate.sans
        assert row["Subject alternative names"] == "; ".join(certificate.sans)
        assert item["tags"] == certificate.tags
        assert item["selfSigned"] is certificate.self_signed
        assert row["Self-signed"] == ("yes" if certificate.self_signed else "no")
        assert item["usedBy"] == [str(usage) for usage in certificate.usages()]
        assert item["usageCount"] == len(certificate.usages())
        for key, field in [
            ("subject", "subject"),
            ("issuer", "issuer"),
            ("thumbprint", "thumbprint"),
            ("sha256Fingerprint", "sha256_fingerprint"),
            ("serialNumber", "serial"),
            ("keyType", "key_type"),
            ("keySize", "key_size"),
            ("friendlyName", "friendly_name"),
            ("owner", "owner"),
            ("contact", "contact"),
            ("uploadedBy", "uploaded_by_name"),
        ]:
            assert item[key] == getattr(certificate, field)
    assert rows["valid"]["Usage count"] == "2"


def utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_timestamps_are_utc_to_the_second():
    moment = datetime(2026, 3, 1, 1, 2, 3, 999999, tzinfo=timezone.get_fixed_timezone(90))
    assert _timestamp(moment) == "2026-02-28T23:32:03Z"
    assert _timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "999-01-02T03:04:05Z"
    assert _timestamp(None) is None


def test_the_csv_header_comes_first_then_the_rows_in_chunks(admin_client, monkeypatch):
    monkeypatch.setattr("certificates.export.EXPORT_CHUNK", 2)
    fake_certificates(5)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/certificates/export.csv")
        chunks = iter(response.streaming_content)
        header = next(chunks).decode()
        before_rows = len(queries)
        rest = [chunk.decode() for chunk in chunks]
    assert header == ",".join(header for _, header in FIELDS) + "\r\n"
    # The header goes out before the certificates are read.
    assert not any("certificates_certificate" in q["sql"] for q in queries[:before_rows])
    assert [chunk.count("\r\n") for chunk in rest] == [2, 2, 1]
    assert [row["Id"] for row in csv.DictReader(io.StringIO(header + "".join(rest)))] == [
        f"cert-{index:04d}" for index in range(5)
    ]

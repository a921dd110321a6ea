"""CSV and JSON exports of the filtered inventory."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.csv_export import formula_safe
from certificates.models import Certificate
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
    assert b"Expiry:" in response.content
    assert b"Nothing was exported" in response.content


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

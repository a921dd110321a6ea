import datetime as dt
import logging

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from audit.models import AuditEvent
from certificates import views
from certificates.facts import certificate_thumbprint
from certificates.models import Certificate
from tests import pki

pytestmark = pytest.mark.django_db


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def test_it_uploads_a_pfx(upload, leaf, administrator):
    response = upload(pki.make_pfx(leaf))
    assert response.status_code == 302
    assert response["Location"] == "/certificates/orders-client/"
    certificate = Certificate.objects.get(name="orders-client")
    assert certificate.thumbprint == certificate_thumbprint(leaf.certificate)
    assert "CN=client.example.test" in certificate.subject
    assert certificate.uploaded_by == administrator
    assert certificate.key_description == "RSA 2048"
    event = AuditEvent.objects.get(action="certificate-uploaded")
    assert event.object_id == "orders-client"
    assert event.after["thumbprint"] == certificate.thumbprint


def test_the_list_and_detail_show_the_thumbprint(upload, leaf, admin_client):
    upload(pki.make_pfx(leaf))
    thumbprint = Certificate.objects.get().thumbprint
    listing = admin_client.get("/certificates/").content.decode()
    assert thumbprint in listing
    assert "Not used" in listing
    detail = admin_client.get("/certificates/orders-client/").content.decode()
    assert thumbprint in detail
    assert "CN=client.example.test" in detail
    assert "RSA 2048" in detail


def test_a_wrong_password_is_reported_on_the_password_field(upload, leaf):
    response = upload(pki.make_pfx(leaf), password="not it")
    assert response.status_code == 200
    assert "password is wrong or the file is damaged" in " ".join(
        field_errors(response, "password")
    )
    assert response.context["form"]["name"].value() == "orders-client"
    assert 'value="not it"' not in response.content.decode()
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="certificate").exists()


def test_a_pem_certificate_is_explained_on_the_file_field(upload, leaf):
    response = upload(pki.certificate_pem(leaf), password="")
    errors = " ".join(field_errors(response, "certificate"))
    assert ".pfx" in errors
    assert not Certificate.objects.exists()


def test_a_large_file_is_refused_before_parsing(upload, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("parsed a file over the cap")

    monkeypatch.setattr("certificates.actions.open_pfx", fail)
    response = upload(b"\x30" * (300 * 1024))
    assert "at most 256 KiB" in " ".join(field_errors(response, "certificate"))
    assert not Certificate.objects.exists()


def test_an_invalid_id_is_refused(upload, leaf):
    response = upload(pki.make_pfx(leaf), name="bad id/with slash")
    assert field_errors(response, "name")
    assert not Certificate.objects.exists()


def test_an_existing_id_asks_to_confirm_the_replacement(upload, leaf):
    upload(pki.make_pfx(leaf))
    renewed = pki.make_leaf(pki.make_ca(), "client.example.test")
    response = upload(pki.make_pfx(renewed))
    assert "already exists" in " ".join(field_errors(response, "name"))
    assert "Replace the existing certificate" in response.content.decode()
    certificate = Certificate.objects.get()
    assert certificate.thumbprint == certificate_thumbprint(leaf.certificate)

    response = upload(pki.make_pfx(renewed), replace="on")
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.thumbprint == certificate_thumbprint(renewed.certificate)
    assert certificate.version == 2
    event = AuditEvent.objects.get(action="certificate-replaced")
    assert event.before["thumbprint"] == certificate_thumbprint(leaf.certificate)


def test_the_same_certificate_under_a_second_id_is_refused(upload, leaf):
    upload(pki.make_pfx(leaf))
    response = upload(pki.make_pfx(leaf), name="another-id")
    assert "already uploaded with the Id orders-client" in " ".join(
        field_errors(response, "certificate")
    )
    assert Certificate.objects.count() == 1


def test_an_expired_certificate_is_stored_with_a_warning(upload, admin_client):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = pki.make_leaf(
        pki.make_ca(), "old.example.test", not_before=past, not_after=past + dt.timedelta(days=30)
    )
    response = upload(pki.make_pfx(expired))
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "has expired" in page
    listing = admin_client.get("/certificates/").content.decode()
    assert "Expired" in listing


def test_the_friendly_name_is_escaped(upload, leaf, admin_client):
    upload(pki.make_pfx(leaf, friendly_name="<script>alert(1)</script>"))
    page = admin_client.get("/certificates/orders-client/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_downloads_give_the_public_certificate_only(upload, leaf, admin_client):
    upload(pki.make_pfx(leaf))
    cer = admin_client.get("/certificates/orders-client/download.cer")
    assert cer.content == leaf.certificate.public_bytes(Encoding.DER)
    assert 'filename="orders-client.cer"' in cer["Content-Disposition"]
    pem = admin_client.get("/certificates/orders-client/download.pem")
    assert pem.content == leaf.certificate.public_bytes(Encoding.PEM)
    assert b"PRIVATE KEY" not in pem.content
    assert admin_client.get("/certificates/orders-client/download.key").status_code == 404


def test_delete_asks_then_deletes(upload, leaf, admin_client):
    upload(pki.make_pfx(leaf))
    confirm = admin_client.get("/certificates/orders-client/delete/")
    assert b"Delete orders-client?" in confirm.content
    assert Certificate.objects.exists()
    response = admin_client.post("/certificates/orders-client/delete/")
    assert response.status_code == 302
    assert not Certificate.objects.exists()
    assert AuditEvent.objects.filter(action="certificate-deleted").exists()


def test_a_missing_certificate_is_404(admin_client):
    assert admin_client.get("/certificates/nothing-here/").status_code == 404
    assert admin_client.post("/certificates/nothing-here/delete/").status_code == 404


def test_a_reviewer_sees_everything_and_changes_nothing(upload, leaf, client, reviewer):
    upload(pki.make_pfx(leaf))
    client.force_login(reviewer)
    listing = client.get("/certificates/").content.decode()
    assert "orders-client" in listing
    assert "+ Add" not in listing
    assert ">Delete<" not in listing
    detail = client.get("/certificates/orders-client/").content.decode()
    assert "Download .cer" in detail
    assert ">Delete<" not in detail
    assert client.get("/certificates/orders-client/download.pem").status_code == 200
    other = pki.make_leaf(pki.make_ca(), "other.example.test")
    refused = client.post(
        "/certificates/+add/",
        {"certificate": pki_file(other), "name": "x", "password": pki.DEFAULT_PASSWORD},
    )
    assert refused.status_code == 403
    assert client.post("/certificates/orders-client/delete/").status_code == 403
    assert list(Certificate.objects.values_list("name", flat=True)) == ["orders-client"]


def pki_file(leaf):
    return SimpleUploadedFile("x.pfx", pki.make_pfx(leaf))


def test_search_finds_by_id_subject_and_thumbprint_prefix(upload, admin_client):
    ca = pki.make_ca()
    upload(pki.make_pfx(pki.make_leaf(ca, "alpha.example.test")), name="alpha")
    upload(pki.make_pfx(pki.make_leaf(ca, "beta.example.test")), name="beta")
    beta = Certificate.objects.get(name="beta")

    def names(query):
        shown = admin_client.get("/certificates/", {"q": query}).context["certificates"]
        return [certificate.name for certificate in shown]

    assert names("alpha") == ["alpha"]
    assert names("CN=beta") == ["beta"]
    prefix = beta.thumbprint[:8].lower()
    assert names(f"{prefix[:2]}:{prefix[2:4]} {prefix[4:]}") == ["beta"]
    assert names("") == ["alpha", "beta"]


def test_htmx_search_returns_the_results_fragment(upload, leaf, admin_client):
    upload(pki.make_pfx(leaf))
    response = admin_client.get("/certificates/", {"q": "orders"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results"')
    assert "orders-client" in content
    assert "<nav" not in content


def test_the_password_is_never_logged_nor_kept_for_error_reports(
    admin_client, pfx_file, leaf, caplog, administrator
):
    secret = "s3cret-Pässword"
    caplog.set_level(logging.DEBUG)
    for password in (secret, secret + "-wrong"):
        admin_client.post(
            "/certificates/+add/",
            {
                "certificate": pfx_file(pki.make_pfx(leaf, secret)),
                "name": "c1",
                "password": password,
            },
        )
    assert Certificate.objects.count() == 1
    assert secret not in caplog.text
    request = RequestFactory().post("/certificates/+add/", {"password": secret})
    request.user = administrator
    request.htmx = False
    views.certificate_add(request)
    # Django's error reports hide the parameters named here.
    assert request.sensitive_post_parameters == ("password",)


def test_a_huge_upload_is_refused_with_its_size_and_never_spooled_to_disk(upload, monkeypatch):
    import tempfile

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("an upload touched the disk")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_temporary_files)
    response = upload(b"\x30\x82" + b"\x00" * (3 * 1024 * 1024))
    assert "The file is 3072 KiB" in " ".join(field_errors(response, "certificate"))
    assert not Certificate.objects.exists()

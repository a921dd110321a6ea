import io

import pytest
from django.core.management import CommandError, call_command

from apis.actions import create_api
from apis.models import Backend
from audit.models import AuditEvent
from certificates.models import CACertificate

pytestmark = pytest.mark.django_db


def backend_data(**overrides):
    data = {
        "name": "orders-backend",
        "url": "https://127.0.0.1:9443",
        "protocol": "http",
        "description": "",
        "validate_certificate_chain": "on",
        "validate_certificate_name": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_an_administrator_adds_a_backend_with_a_ca_and_a_certificate(
    admin_client, make_certificate, make_ca_certificate
):
    make_certificate("orders-client")
    ca = make_ca_certificate("private-ca")
    response = admin_client.post(
        "/backends/+add/",
        backend_data(ca_certificates=[ca.pk], client_certificate="orders-client"),
    )
    assert response.status_code == 302
    backend = Backend.objects.get()
    assert list(backend.ca_certificates.values_list("name", flat=True)) == ["private-ca"]
    assert list(backend.client_certificates.values_list("name", flat=True)) == ["orders-client"]
    event = AuditEvent.objects.get(action="backend-created")
    assert event.after["caCertificateIds"] == ["private-ca"]
    detail = admin_client.get("/backends/orders-backend/").content.decode()
    assert "private-ca" in detail and "orders-client" in detail


def test_switching_chain_validation_off_is_audited(admin_client):
    admin_client.post("/backends/+add/", backend_data())
    backend = Backend.objects.get()
    response = admin_client.post(
        "/backends/orders-backend/edit/",
        backend_data(validate_certificate_chain=None, version=backend.version),
    )
    assert response.status_code == 302
    backend.refresh_from_db()
    assert backend.validate_certificate_chain is False
    event = AuditEvent.objects.get(action="backend-changed")
    assert event.before["validateCertificateChain"] is True
    assert event.after["validateCertificateChain"] is False


def test_a_stale_backend_form_is_refused(admin_client):
    admin_client.post("/backends/+add/", backend_data())
    backend = Backend.objects.get()
    admin_client.post("/backends/orders-backend/edit/", backend_data(version=backend.version))
    response = admin_client.post(
        "/backends/orders-backend/edit/",
        backend_data(validate_certificate_name=None, version=backend.version),
    )
    assert "Somebody else changed" in response.content.decode()
    backend.refresh_from_db()
    assert backend.validate_certificate_name is True


def test_a_bad_url_is_refused(admin_client):
    response = admin_client.post("/backends/+add/", backend_data(url="ftp://x"))
    assert "Enter a valid URL" in response.content.decode()
    assert not Backend.objects.exists()


def test_a_trusted_ca_cannot_be_deleted(admin_client, make_ca_certificate):
    ca = make_ca_certificate("private-ca")
    admin_client.post("/backends/+add/", backend_data(ca_certificates=[ca.pk]))
    response = admin_client.post("/ca-certificates/private-ca/delete/")
    assert response.status_code == 409
    content = response.content.decode()
    assert "Certificate in use" in content
    assert "Backend orders-backend" in content
    assert CACertificate.objects.filter(name="private-ca").exists()


def test_a_client_certificate_used_by_a_backend_cannot_be_deleted(admin_client, make_certificate):
    make_certificate("orders-client")
    admin_client.post("/backends/+add/", backend_data(client_certificate="orders-client"))
    response = admin_client.post("/certificates/orders-client/delete/")
    assert response.status_code == 409
    assert "Backend orders-backend" in response.content.decode()


def test_a_backend_applies_by_url_prefix_or_by_policy(admin_client, api):
    admin_client.post("/backends/+add/", backend_data(url="https://127.0.0.1:9443"))
    admin_client.post("/backends/+add/", backend_data(name="other", url="https://other.test"))
    backend = Backend.objects.get(name="orders-backend")
    assert api.backend() == backend
    other = create_api(display_name="Other", service_url="https://127.0.0.1:94431", path="o")
    assert other.backend() is None
    xml = other.policy_xml.replace(
        "<base />", '<base />\n        <set-backend-service backend-id="other" />', 1
    )
    admin_client.post("/apis/other/policy/", {"policy": xml, "version": other.version})
    other.refresh_from_db()
    assert other.backend() == Backend.objects.get(name="other")
    # A policy naming the backend keeps it from being deleted.
    assert admin_client.post("/backends/other/delete/").status_code == 409
    assert Backend.objects.filter(name="other").exists()


def test_a_backend_lists_the_apis_that_call_it_in_two_queries(django_assert_max_num_queries):
    from apis.models import Api

    base = Backend.objects.create(name="base", url="https://api.test")
    longer = Backend.objects.create(name="longer", url="https://api.test/v2")
    named = Backend.objects.create(name="named", url="https://elsewhere.test")
    expected = {
        base: {"by-url", "exact", "v20-is-not-v2"},
        longer: {"deeper"},
        named: {"named-in-policy"},
    }
    for path, url in [
        ("by-url", "https://api.test/v1/orders"),
        ("exact", "https://api.test"),
        ("v20-is-not-v2", "https://api.test/v20"),
        ("deeper", "https://api.test/v2/items"),
        ("other-case", "https://API.test/v1"),  # URLs compare exactly, as Api.backend does
        ("no-segment", "https://api.testing/v1"),
        ("named-in-policy", "https://api.test/v1"),
    ]:
        create_api(display_name=path, service_url=url, path=path)
    Api.objects.filter(path="named-in-policy").update(backend_name="named")
    for api in Api.objects.all():
        owner = api.backend()
        assert (owner is None) == (api.path in {"other-case", "no-segment"}), api.path
    for backend, paths in expected.items():
        with django_assert_max_num_queries(2):
            found = backend.apis()
        assert {api.path for api in found} == paths
        assert all(api.backend() == backend for api in found)


def test_a_policy_naming_a_missing_backend_is_refused(admin_client, api):
    xml = api.policy_xml.replace(
        "<base />", '<base />\n        <set-backend-service backend-id="ghost" />', 1
    )
    response = admin_client.post(
        "/apis/orders-api/policy/", {"policy": xml, "version": api.version}
    )
    assert "Line 4: No backend with the Id ghost" in response.content.decode()


def test_a_reviewer_cannot_change_backends(client, reviewer, admin_client):
    admin_client.post("/backends/+add/", backend_data())
    client.force_login(reviewer)
    listing = client.get("/backends/").content.decode()
    assert "orders-backend" in listing
    assert "+ Add" not in listing
    assert client.post("/backends/+add/", backend_data(name="x")).status_code == 403
    assert client.post("/backends/orders-backend/edit/", backend_data()).status_code == 403
    assert client.post("/backends/orders-backend/delete/").status_code == 403
    assert Backend.objects.count() == 1


def run(*args):
    out = io.StringIO()
    call_command("backend", *args, stdout=out)
    return out.getvalue()


def test_the_backend_command_mirrors_the_cmdlets(make_certificate):
    make_certificate("orders-client")
    out = run(
        "new",
        "--id",
        "cli",
        "--url",
        "https://127.0.0.1:9443",
        "--protocol",
        "http",
        "--skip-certificate-chain-validation",
        "--certificate-id",
        "orders-client",
    )
    assert out.strip() == "Created backend cli."
    backend = Backend.objects.get(name="cli")
    assert backend.validate_certificate_chain is False
    assert backend.validate_certificate_name is True
    run("set", "--id", "cli", "--skip-certificate-name-validation")
    backend.refresh_from_db()
    assert (backend.validate_certificate_chain, backend.validate_certificate_name) == (False, False)
    assert list(backend.client_certificates.values_list("name", flat=True)) == ["orders-client"]
    run("set", "--id", "cli", "--no-skip-certificate-chain-validation")
    backend.refresh_from_db()
    assert backend.validate_certificate_chain is True
    listing = run("list")
    assert listing.startswith(
        "cli\thttps://127.0.0.1:9443\tchain=on\tname=off\tcertificates=orders-client"
    )


def test_the_backend_command_refuses_bad_input(make_certificate):
    with pytest.raises(CommandError, match="No client certificate with the Id ghost"):
        run("new", "--id", "b", "--url", "https://x.test", "--certificate-id", "ghost")
    with pytest.raises(CommandError, match="--url"):
        run("new", "--id", "b", "--url", "not a url")
    with pytest.raises(CommandError, match="use 'new'"):
        run("set", "--id", "missing")
    assert not Backend.objects.exists()

import pytest

from apis.models import BASIC_PASSWORD_PLACEHOLDER, Api, CredentialsKind
from audit.models import AuditEvent
from certificates.models import Certificate

pytestmark = pytest.mark.django_db

CERT_ELEMENT = '<authentication-certificate certificate-id="{}" />'


def refreshed(api):
    return Api.objects.select_related("client_certificate").get(pk=api.pk)


def test_an_administrator_adds_an_api(admin_client):
    response = admin_client.post(
        "/apis/+add/",
        {
            "display_name": "Orders API",
            "service_url": "https://orders.internal/v1/",
            "path": "/orders/",
        },
    )
    api = Api.objects.get()
    assert response["Location"] == "/apis/orders-api/"
    assert (api.name, api.path, api.service_url) == (
        "orders-api",
        "orders",
        "https://orders.internal/v1",
    )
    assert "<inbound>" in api.policy_xml
    assert api.gateway_credentials == CredentialsKind.NONE
    assert AuditEvent.objects.filter(action="api-created", object_id="orders-api").exists()


def test_a_clashing_url_suffix_is_refused(admin_client, api):
    response = admin_client.post(
        "/apis/+add/",
        {"display_name": "Other", "service_url": "https://other.internal", "path": "orders"},
    )
    assert "already uses this URL suffix" in response.content.decode()
    assert Api.objects.count() == 1


@pytest.mark.parametrize("path", ["healthz", "HealthZ/v2"])
def test_the_gateways_own_healthz_is_a_reserved_url_suffix(admin_client, path):
    response = admin_client.post(
        "/apis/+add/",
        {"display_name": "Health", "service_url": "https://h.internal", "path": path},
    )
    assert "is reserved: the gateway answers its own health check" in response.content.decode()
    assert not Api.objects.filter(display_name="Health").exists()


def test_the_design_tab_shows_frontend_inbound_and_backend(admin_client, api):
    content = admin_client.get("/apis/orders-api/").content.decode()
    for text in (
        "Frontend",
        "Inbound processing",
        "Backend",
        'aria-label="Edit backend"',
        "https://127.0.0.1:9443/v1",
    ):
        assert text in content


def test_choosing_a_client_certificate_updates_the_policy(admin_client, api, make_certificate):
    certificate = make_certificate("orders-client")
    response = admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": api.version},
    )
    assert response.status_code == 302
    assert "effective immediately" in admin_client.get(response["Location"]).content.decode()
    api = refreshed(api)
    assert api.client_certificate == certificate
    assert CERT_ELEMENT.format("orders-client") in api.policy_xml
    policy_page = admin_client.get("/apis/orders-api/policy/").content.decode()
    assert "authentication-certificate certificate-id=&quot;orders-client&quot;" in policy_page
    event = AuditEvent.objects.get(action="policy-changed")
    assert event.before["gatewayCredentials"] == "None"
    assert event.after == {
        "gatewayCredentials": "Client cert",
        "certificateId": "orders-client",
        "basicUsername": None,
    }


def test_the_htmx_save_returns_the_backend_section(admin_client, api, make_certificate):
    make_certificate("orders-client")
    form = admin_client.get("/apis/orders-api/backend/", headers={"HX-Request": "true"})
    assert form.content.decode().lstrip().startswith('<section class="panel" id="backend"')
    response = admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": api.version},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="panel" id="backend"')
    assert "effective immediately" in content
    assert "orders-client" in content


def test_client_cert_without_a_certificate_is_refused(admin_client, api):
    response = admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "", "version": api.version},
    )
    assert "Choose the client certificate" in response.content.decode()
    assert refreshed(api).version == api.version


def test_basic_credentials_keep_the_password_out_of_the_policy(admin_client, api):
    admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "basic", "username": "gateway", "password": "Top-s3cret!", "version": api.version},
    )
    api = refreshed(api)
    assert api.gateway_credentials == CredentialsKind.BASIC
    assert "Top-s3cret!" not in api.policy_xml
    assert BASIC_PASSWORD_PLACEHOLDER in api.policy_xml
    assert "Top-s3cret!" not in api.basic_password_encrypted
    assert api.basic_password() == "Top-s3cret!"


def test_a_password_typed_into_the_policy_is_moved_to_encrypted_storage(admin_client, api):
    xml = api.policy_xml.replace(
        "<base />", '<base />\n        <authentication-basic username="u" password="typed-pw" />', 1
    )
    admin_client.post("/apis/orders-api/policy/", {"policy": xml, "version": api.version})
    api = refreshed(api)
    assert "typed-pw" not in api.policy_xml
    assert api.basic_password() == "typed-pw"


def test_the_policy_editor_honours_a_pasted_thumbprint(admin_client, api, make_certificate):
    certificate = make_certificate("orders-client")
    pasted = "\u200e" + ":".join(certificate.thumbprint[i : i + 2].lower() for i in range(0, 40, 2))
    xml = api.policy_xml.replace(
        "<base />", f'<base />\n        <authentication-certificate thumbprint="{pasted}" />', 1
    )
    response = admin_client.post(
        "/apis/orders-api/policy/", {"policy": xml, "version": api.version}
    )
    assert response.status_code == 302
    assert refreshed(api).client_certificate == certificate


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<policies><inbound>", "Line 1"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x "y">]>\n<policies/>',
            "Line 2",
        ),
        (
            (
                "<policies>\n  <inbound>\n    <base />\n"
                '    <authentication-certificate certificate-id="nope" />\n'
                "  </inbound>\n</policies>"
            ),
            "Line 4: No client certificate with the Id nope",
        ),
    ],
)
def test_a_bad_policy_is_refused_with_its_line(admin_client, api, xml, message):
    before = api.policy_xml
    response = admin_client.post(
        "/apis/orders-api/policy/", {"policy": xml, "version": api.version}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert refreshed(api).policy_xml == before


def test_a_stale_policy_form_does_not_overwrite_a_newer_change(admin_client, api, make_certificate):
    make_certificate("orders-client")
    stale_version = api.version
    admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": stale_version},
    )
    response = admin_client.post(
        "/apis/orders-api/policy/", {"policy": api.policy_xml, "version": stale_version}
    )
    assert "Somebody else changed this API" in response.content.decode()
    assert refreshed(api).client_certificate.name == "orders-client"


def test_deleting_a_certificate_in_use_shows_the_warning(admin_client, api, make_certificate):
    make_certificate("orders-client")
    admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": api.version},
    )
    response = admin_client.post("/certificates/orders-client/delete/")
    content = response.content.decode()
    assert response.status_code == 409
    assert "Certificate in use" in content
    assert 'href="/apis/orders-api/#backend"' in content
    assert "must first be removed" in content
    assert Certificate.objects.filter(name="orders-client").exists()
    assert AuditEvent.objects.filter(action="certificate-delete-blocked").exists()

    admin_client.post(
        "/apis/orders-api/backend/", {"kind": "none", "version": refreshed(api).version}
    )
    assert admin_client.post("/certificates/orders-client/delete/").status_code == 302
    assert not Certificate.objects.exists()


def test_the_certificate_page_lists_its_apis(admin_client, api, make_certificate):
    make_certificate("orders-client")
    admin_client.post(
        "/apis/orders-api/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": api.version},
    )
    detail = admin_client.get("/certificates/orders-client/").content.decode()
    assert "API Orders API" in detail
    listing = admin_client.get("/certificates/").content.decode()
    assert "1 API" in listing


def test_replace_in_all_apis_moves_every_api(admin_client, make_certificate):
    from apis.actions import create_api

    old = make_certificate("old-cert")
    new = make_certificate("new-cert")
    apis = [
        create_api(display_name=f"API {n}", service_url="https://127.0.0.1:9443", path=f"p{n}")
        for n in range(3)
    ]
    for api in apis[:2]:
        admin_client.post(
            f"/apis/{api.name}/backend/",
            {"kind": "certificate", "certificate": "old-cert", "version": api.version},
        )
    response = admin_client.post(
        "/apis/+replace-certificate/old-cert/", {"certificate": "new-cert"}
    )
    assert response.status_code == 302
    assert Api.objects.filter(client_certificate=new).count() == 2
    assert not Api.objects.filter(client_certificate=old).exists()
    for api in Api.objects.filter(client_certificate=new):
        assert CERT_ELEMENT.format("new-cert") in api.policy_xml


def test_operations_are_added_edited_and_deleted(admin_client, api):
    admin_client.post(
        "/apis/orders-api/operations/+add/",
        {"display_name": "Get order", "method": "GET", "url_template": "orders/{orderId}"},
    )
    operation = api.operations.get()
    assert (operation.name, operation.url_template) == ("get-order", "/orders/{orderId}")
    clash = admin_client.post(
        "/apis/orders-api/operations/+add/",
        {"display_name": "Again", "method": "GET", "url_template": "/orders/{orderId}"},
    )
    assert "already has an operation" in clash.content.decode()
    admin_client.post(
        "/apis/orders-api/operations/get-order/",
        {"display_name": "Get order", "method": "GET", "url_template": "/orders/{id}"},
    )
    operation.refresh_from_db()
    assert operation.url_template == "/orders/{id}"
    admin_client.post("/apis/orders-api/operations/get-order/delete/")
    assert not api.operations.exists()


def test_a_reviewer_reads_apis_and_changes_nothing(client, reviewer, api, make_certificate):
    make_certificate("orders-client")
    client.force_login(reviewer)
    design = client.get("/apis/orders-api/").content.decode()
    assert "Backend" in design
    assert "Edit backend" not in design
    assert "+ Add operation" not in design
    policy = client.get("/apis/orders-api/policy/").content.decode()
    assert "&lt;policies&gt;" in policy
    assert "<textarea" not in policy
    for url, data in [
        ("/apis/+add/", {"display_name": "x", "service_url": "https://x", "path": "x"}),
        (
            "/apis/orders-api/backend/",
            {"kind": "certificate", "certificate": "orders-client", "version": 1},
        ),
        ("/apis/orders-api/policy/", {"policy": "<policies/>", "version": 1}),
        ("/apis/orders-api/delete/", {}),
        ("/apis/+replace-certificate/orders-client/", {"certificate": "orders-client"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert refreshed(api).client_certificate is None
    assert Api.objects.count() == 1


def test_a_missing_api_is_404(admin_client):
    assert admin_client.get("/apis/nope/").status_code == 404
    assert admin_client.post("/apis/nope/policy/", {}).status_code == 404


def test_an_administrator_changes_an_api_settings(admin_client, api):
    response = admin_client.post(
        "/apis/orders-api/settings/",
        {
            "display_name": "Orders v2",
            "service_url": "https://orders.internal/v2",
            "path": "orders/v2",
            "description": "New version",
            "version": api.version,
        },
    )
    assert response.status_code == 302
    api = refreshed(api)
    assert (api.display_name, api.path, api.service_url) == (
        "Orders v2",
        "orders/v2",
        "https://orders.internal/v2",
    )
    event = AuditEvent.objects.get(action="api-changed")
    assert event.before["path"] == "orders"
    assert event.after["path"] == "orders/v2"


def test_a_stale_settings_form_is_refused(admin_client, api):
    data = {"display_name": "A", "service_url": "https://a.internal", "path": "a"}
    admin_client.post("/apis/orders-api/settings/", {**data, "version": api.version})
    response = admin_client.post(
        "/apis/orders-api/settings/", {**data, "display_name": "B", "version": api.version}
    )
    assert "Somebody else changed this API" in response.content.decode()
    assert refreshed(api).display_name == "A"


def test_a_reviewer_cannot_change_api_settings(client, reviewer, api):
    client.force_login(reviewer)
    assert "Settings</a>" not in client.get("/apis/orders-api/").content.decode()
    response = client.post(
        "/apis/orders-api/settings/",
        {"display_name": "x", "service_url": "https://x.internal", "path": "x", "version": 1},
    )
    assert response.status_code == 403
    assert refreshed(api).display_name == "Orders API"


def test_display_names_differing_only_by_case_are_refused(admin_client, api):
    response = admin_client.post(
        "/apis/+add/",
        {"display_name": "ORDERS api", "service_url": "https://127.0.0.1:9/x", "path": "other"},
    )
    assert "Another API is already called Orders API" in response.content.decode()
    assert Api.objects.count() == 1


def test_existing_duplicate_names_are_flagged_on_the_list(admin_client, api):
    Api.objects.create(
        name="orders-api-2", display_name="orders API", path="o2", service_url="https://x/y"
    )
    page = admin_client.get("/apis/").content.decode()
    assert page.count("Same name as another API") == 2


def _choose(admin_client, api, certificate, **extra):
    data = {"kind": "certificate", "certificate": certificate, "version": refreshed(api).version}
    return admin_client.post("/apis/orders-api/backend/", {**data, **extra})


def test_a_certificate_over_http_is_saved_only_after_a_warning(admin_client, make_certificate):
    from apis.actions import create_api

    api = create_api(display_name="Orders API", service_url="http://127.0.0.1:9/v1", path="o")
    make_certificate("orders-client")
    page = _choose(admin_client, api, "orders-client").content.decode()
    assert "never presents a client certificate" in page and "Save anyway" in page
    assert refreshed(api).client_certificate is None
    response = _choose(admin_client, api, "orders-client", confirm="on")
    assert response.status_code == 302
    assert refreshed(api).client_certificate.name == "orders-client"


def test_an_expired_certificate_is_marked_and_confirmed(admin_client, api, db):
    import datetime as dt

    from certificates.actions import import_certificate
    from tests import pki

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    leaf = pki.make_leaf(pki.make_ca(), not_before=past, not_after=past + dt.timedelta(days=1))
    import_certificate("old-client", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    form = admin_client.get("/apis/orders-api/backend/").content.decode()
    assert "old-client · " in form and "(expired)" in form
    page = _choose(admin_client, api, "old-client").content.decode()
    assert "old-client expired on" in page
    assert refreshed(api).client_certificate is None
    assert _choose(admin_client, api, "old-client", confirm="on").status_code == 302

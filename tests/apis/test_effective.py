"""Every page shows the gateway credentials and TLS validation that the gateway really uses."""

import pytest

from apis.actions import GatewayCredentials, save_backend, set_gateway_credentials
from apis.effective import effective_settings
from apis.models import Backend
from gateway.plans import load_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def backend_cert(make_certificate):
    return make_certificate("billing-client")


@pytest.fixture
def backend(api, backend_cert, make_ca_certificate):
    """A backend whose URL is a prefix of the API's web service URL: it serves the API."""
    ca = make_ca_certificate("private-ca")
    backend = Backend.objects.create(
        name="billing-backend", url="https://127.0.0.1:9443", validate_certificate_chain=False
    )
    return save_backend(backend, ca_certificates=[ca], client_certificates=[backend_cert])


def test_a_backends_certificate_is_what_every_page_says(admin_client, api, backend, backend_cert):
    plan = load_plan(api)
    assert plan.certificate == backend_cert
    assert plan.validation.validate_chain is False and plan.validation.validate_name is True
    settings = effective_settings(api)
    assert (
        settings.credentials_text() == "Client cert billing-client (from backend billing-backend)"
    )

    listing = admin_client.get("/apis/").content.decode()
    design = admin_client.get(f"/apis/{api.name}/").content.decode()
    backend_page = admin_client.get("/backends/billing-backend/").content.decode()
    for page in (listing, design):
        assert ">billing-client</a>" in page
        assert "(from backend" in page
        assert "Sends no gateway credentials" not in page or "presents client certificate" in page
    assert "Backend billing-backend presents client certificate billing-client" in design
    assert "Certificate chain validation off (any issuer accepted), name validation on" in design
    assert "Client cert billing-client (from backend billing-backend)" in backend_page


def test_the_apis_own_certificate_comes_first(admin_client, api, backend, make_certificate):
    own = make_certificate("orders-client")
    api = set_gateway_credentials(api, GatewayCredentials("certificate", own), version=None)
    assert load_plan(api).certificate == own
    design = admin_client.get(f"/apis/{api.name}/").content.decode()
    assert ">orders-client</a>" in design and "(from backend" not in design


def test_without_a_backend_the_system_roots_and_names_are_checked(admin_client, api):
    design = admin_client.get(f"/apis/{api.name}/").content.decode()
    assert "Certificate chain validation on (trusting the system&#x27;s CAs)" in design
    assert load_plan(api).validation.validate_chain is True
    assert effective_settings(api).sends_nothing


def test_saving_credentials_refreshes_both_panels(admin_client, api, make_certificate):
    make_certificate("orders-client")
    response = admin_client.post(
        f"/apis/{api.name}/backend/",
        {"kind": "certificate", "certificate": "orders-client", "version": api.version},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert 'id="backend"' in page
    assert 'id="inbound" aria-labelledby="inbound-title" hx-swap-oob="true"' in page
    assert "Authenticates to the back end with client certificate orders-client" in page


def test_the_list_reads_a_constant_number_of_queries(
    admin_client, api, backend, django_assert_max_num_queries
):
    from apis.actions import create_api

    for index in range(5):
        create_api(
            display_name=f"API {index}",
            service_url=f"https://127.0.0.1:9443/x{index}",
            path=f"x{index}",
        )
    with django_assert_max_num_queries(12):
        admin_client.get("/apis/")


def test_the_pencil_shows_the_validation_and_offers_the_backend(admin_client, api):
    form = admin_client.get(f"/apis/{api.name}/backend/").content.decode()
    assert "Certificate chain validation on" in form
    link = "/backends/+add/?url=https%3A%2F%2F127.0.0.1%3A9443"
    assert f'href="{link}">Create a backend for this address' in form
    prefilled = admin_client.get(link).content.decode()
    assert 'value="https://127.0.0.1:9443"' in prefilled


def test_with_a_backend_the_pencil_offers_to_edit_it(admin_client, api, backend):
    form = admin_client.get(f"/apis/{api.name}/backend/").content.decode()
    link = 'href="/backends/billing-backend/edit/">Change the validation on backend billing-backend'
    assert link in form

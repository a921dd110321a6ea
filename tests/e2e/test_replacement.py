from playwright.sync_api import expect

from apis.actions import GatewayCredentials, save_backend, set_gateway_credentials
from apis.models import Backend
from tests.e2e.conftest import open_section


def test_a_certificate_in_use_is_replaced_everywhere_then_deleted(
    sign_in, administrator, api, make_certificate
):
    old = make_certificate("orders-client")
    make_certificate("orders-renewed")
    set_gateway_credentials(api, GatewayCredentials("certificate", old), version=None)
    backend = Backend.objects.create(name="billing-backend", url="https://127.0.0.1:9444")
    save_backend(backend, ca_certificates=[], client_certificates=[old])

    page = sign_in(administrator)
    open_section(page, "Client certificates")
    row = page.get_by_role("row", name="orders-client")
    row.get_by_label("More actions").click()
    row.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Certificate in use")).to_be_visible()
    expect(page.get_by_role("link", name="Backend billing-backend")).to_be_visible()

    page.get_by_role("link", name="Replace in all APIs and backends").click()
    page.get_by_label("Client certificate").select_option("orders-renewed")
    page.get_by_role("button", name="Replace everywhere").click()
    expect(page.get_by_text("API Orders API: orders-client → orders-renewed")).to_be_visible()
    expect(
        page.get_by_text("Backend billing-backend: orders-client → orders-renewed")
    ).to_be_visible()

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Certificate orders-client deleted.")).to_be_visible()

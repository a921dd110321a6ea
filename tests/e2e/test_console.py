import json

from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.conftest import open_section, wait_for_htmx


def test_the_test_tab_calls_a_mutual_tls_back_end(
    sign_in, administrator, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=client_certificate)
    page = sign_in(administrator)
    open_section(page, "APIs")
    page.get_by_role("link", name="API orders").click()
    page.get_by_role("link", name="Test", exact=True).click()
    # Choosing an operation redraws the form with its template parameters.
    page.get_by_label("Operation").select_option("get-order")
    expect(page.get_by_label("orderId")).to_be_visible()
    wait_for_htmx(page)
    page.get_by_label("Operation").select_option("create-order")
    expect(page.get_by_label("orderId")).to_have_count(0)
    expect(page.get_by_text(f"POST {settings.GATEWAY_BASE_URL}/orders/orders")).to_be_visible()
    page.get_by_label("Body").fill('{"item": 7}')
    page.get_by_label("Headers").fill("Content-Type: application/json")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("status")).to_have_text("200")
    body = json.loads(page.get_by_label("Response body").inner_text())
    assert body["body"] == '{"item": 7}'
    assert body["client_certificate"]["thumbprint"] == client_certificate.thumbprint
    trace = page.get_by_role("region", name="Trace")
    expect(trace).to_contain_text("gateway-client")
    expect(trace).to_contain_text("Backend Test CA")

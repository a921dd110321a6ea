from playwright.sync_api import expect

from apis.actions import create_api
from tests.e2e.conftest import open_section


def test_a_certificate_for_an_http_back_end_is_saved_after_a_warning(
    sign_in, administrator, make_certificate
):
    make_certificate("orders-client")
    create_api(display_name="Plain API", service_url="http://127.0.0.1:9/v1", path="plain")
    page = sign_in(administrator)
    open_section(page, "APIs")
    page.get_by_role("link", name="Plain API").click()
    backend = page.locator("#backend")
    expect(backend).to_contain_text("Gateway credentials None")

    page.get_by_role("link", name="Edit backend").click()
    page.get_by_role("radio", name="Client cert").check()
    page.get_by_label("Client certificate").select_option("orders-client")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("never presents a client certificate")
    expect(page.locator("#inbound")).not_to_contain_text("orders-client")  # nothing saved

    page.get_by_label("Save anyway").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#backend")).to_contain_text("effective immediately")
    expect(page.locator("#backend")).to_contain_text("Client cert orders-client")
    # The Inbound processing summary is refreshed with the Backend panel.
    expect(page.locator("#inbound")).to_contain_text("client certificate orders-client")

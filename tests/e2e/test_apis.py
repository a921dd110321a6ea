import re

from playwright.sync_api import expect

from certificates.actions import import_certificate
from tests import pki
from tests.e2e.conftest import open_section


def test_client_cert_flow_from_upload_to_blocked_and_allowed_delete(
    sign_in, administrator, tmp_path
):
    leaf = pki.make_leaf(pki.make_ca(), "orders.client.example.test")
    pfx = tmp_path / "orders.pfx"
    pfx.write_bytes(pki.make_pfx(leaf, "export-pw"))
    page = sign_in(administrator)

    # Upload the certificate.
    open_section(page, "Client certificates")
    page.get_by_role("link", name="+ Add").first.click()
    page.get_by_label("Certificate", exact=True).set_input_files(pfx)
    page.get_by_label("Id", exact=True).fill("orders-client")
    page.get_by_label("Password", exact=True).fill("export-pw")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="orders-client")).to_be_visible()

    # Create an API.
    open_section(page, "APIs")
    page.get_by_role("link", name="+ Add API").first.click()
    page.get_by_label("Display name").fill("Orders API")
    page.get_by_label("Web service URL").fill("https://127.0.0.1:9443/v1")
    page.get_by_label("API URL suffix").fill("orders")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Orders API")).to_be_visible()

    # Design tab, Backend pencil, Client cert, choose, Save: in place with htmx.
    expect(page.get_by_role("link", name="Design")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Edit backend").click()
    page.get_by_role("radio", name="Client cert").check()
    page.get_by_label("Client certificate").select_option("orders-client")
    page.get_by_role("button", name="Save").click()
    backend = page.locator("#backend")
    expect(backend).to_contain_text("effective immediately")
    expect(backend).to_contain_text("Client cert")
    expect(backend.get_by_role("link", name="orders-client")).to_be_visible()
    assert page.url.endswith("/apis/orders-api/")

    # The Policy tab shows the certificate.
    page.get_by_role("link", name="Policy", exact=True).first.click()
    expect(page.get_by_role("textbox", name="Policy")).to_have_value(
        re.compile(
            r'<inbound>\s*<base />\s*<authentication-certificate certificate-id="orders-client" />'
        )
    )

    # Delete on the certificate shows the warning listing the API.
    open_section(page, "Client certificates")
    row = page.get_by_role("row", name="orders-client")
    expect(row).to_contain_text("1 API")
    row.get_by_label("More actions").click()
    row.get_by_role("link", name="Delete").click()
    # The warning comes at once: no confirmation for a deletion that cannot happen.
    expect(page.get_by_role("heading", name="Certificate in use")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("must first be removed")
    page.get_by_role("link", name="API Orders API").click()

    # Set None, then Delete succeeds.
    page.get_by_role("link", name="Edit backend").click()
    page.get_by_role("radio", name="None").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#backend")).to_contain_text("effective immediately")
    open_section(page, "Client certificates")
    row = page.get_by_role("row", name="orders-client")
    expect(row).to_contain_text("Not used")
    row.get_by_label("More actions").click()
    row.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Certificate orders-client deleted.")).to_be_visible()


def test_the_backend_form_works_without_javascript(browser, live_server, administrator):
    from tests.conftest import PASSWORD

    leaf = pki.make_leaf(pki.make_ca(), "nojs.example.test")
    import_certificate("nojs", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill(administrator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/apis/+add/")
    page.get_by_label("Display name").fill("No JS API")
    page.get_by_label("Web service URL").fill("https://127.0.0.1:9443")
    page.get_by_label("API URL suffix").fill("nojs")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="Edit backend").click()
    expect(page).to_have_url(f"{live_server.url}/apis/no-js-api/backend/")
    page.get_by_role("radio", name="Client cert").check()
    page.get_by_label("Client certificate").select_option("nojs")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/apis/no-js-api/")
    expect(page.get_by_text("effective immediately")).to_be_visible()
    context.close()

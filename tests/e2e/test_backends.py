from playwright.sync_api import expect

from tests import pki
from tests.e2e.conftest import open_section


def test_trust_a_private_ca_for_a_backend_and_see_deletion_blocked(
    sign_in, administrator, tmp_path
):
    ca_file = tmp_path / "private-ca.cer"
    ca_file.write_bytes(pki.certificate_der(pki.make_ca("Browser Private CA")))
    page = sign_in(administrator)

    open_section(page, "CA certificates")
    page.get_by_role("link", name="+ Add").first.click()
    page.get_by_label("Certificate", exact=True).set_input_files(ca_file)
    page.get_by_label("Id", exact=True).fill("private-ca")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="private-ca")).to_be_visible()
    expect(page.get_by_text("CN=Browser Private CA").first).to_be_visible()

    open_section(page, "Backends")
    page.get_by_role("link", name="+ Add").first.click()
    page.get_by_label("Id", exact=True).fill("orders")
    page.get_by_label("URL", exact=True).fill("https://orders.internal:8443")
    page.get_by_label("Validate certificate name").uncheck()
    page.get_by_label("private-ca").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Backend orders saved.")).to_be_visible()
    settings = page.get_by_role("region", name="Settings")
    expect(settings).to_contain_text("No — the host name is not checked")
    expect(settings.get_by_role("link", name="private-ca")).to_be_visible()

    open_section(page, "CA certificates")
    expect(page.get_by_role("row", name="private-ca")).to_contain_text("1 backend")
    page.get_by_role("link", name="private-ca").click()
    page.get_by_role("link", name="Delete").click()
    # The warning comes at once: no confirmation for a deletion that cannot happen.
    expect(page.get_by_role("heading", name="Certificate in use")).to_be_visible()
    expect(page.get_by_role("link", name="Backend orders")).to_be_visible()

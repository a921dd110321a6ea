from playwright.sync_api import expect

from certificates.facts import certificate_thumbprint
from tests import pki
from tests.e2e.conftest import open_section


def test_upload_see_the_thumbprint_then_delete(sign_in, administrator, tmp_path):
    leaf = pki.make_leaf(pki.make_ca(), "browser.example.test")
    pfx = tmp_path / "browser.pfx"
    pfx.write_bytes(pki.make_pfx(leaf, "Pässword 1"))
    thumbprint = certificate_thumbprint(leaf.certificate)

    page = sign_in(administrator)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Client certificates"
    ).click()
    expect(page.get_by_role("heading", name="No client certificates yet")).to_be_visible()
    page.get_by_role("link", name="+ Add").first.click()

    # A wrong password first: the message sits under the Password field and the Id is kept.
    page.get_by_label("Certificate", exact=True).set_input_files(pfx)
    page.get_by_label("Id", exact=True).fill("browser-cert")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#id_password_error")).to_contain_text("password is wrong")
    expect(page.get_by_label("Id", exact=True)).to_have_value("browser-cert")

    page.get_by_label("Certificate", exact=True).set_input_files(pfx)
    page.get_by_label("Password", exact=True).fill("Pässword 1")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="browser-cert")).to_be_visible()
    expect(page.get_by_text(thumbprint).first).to_be_visible()

    open_section(page, "Client certificates")
    row = page.get_by_role("row", name="browser-cert")
    expect(row.get_by_text(thumbprint)).to_be_visible()
    row.get_by_label("More actions").click()
    row.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Certificate browser-cert deleted.")).to_be_visible()
    expect(page.get_by_role("heading", name="No client certificates yet")).to_be_visible()


def test_a_reviewer_sees_no_change_controls(sign_in, reviewer, administrator):
    from certificates.actions import import_certificate

    leaf = pki.make_leaf(pki.make_ca(), "audited.example.test")
    import_certificate("audited", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False)
    page = sign_in(reviewer)
    open_section(page, "Client certificates")
    row = page.get_by_role("row", name="audited")
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name="+ Add")).to_have_count(0)
    row.get_by_label("More actions").click()
    expect(row.get_by_role("link", name="Delete")).to_have_count(0)
    expect(row.get_by_role("link", name="Download .cer")).to_be_visible()

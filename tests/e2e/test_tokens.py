from playwright.sync_api import expect

from tests.e2e.conftest import open_section


def test_create_a_token_see_it_once_use_it_then_revoke_it(sign_in, administrator, live_server):
    page = sign_in(administrator)
    open_section(page, "API tokens")
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="No active tokens")).to_be_visible()

    page.get_by_label("Name").fill("rotation job")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Token rotation job created")).to_be_visible()
    token = page.locator("#new-token").inner_text().strip()
    assert token.startswith("cpt_")
    row = page.get_by_role("row", name="rotation job")
    expect(row).to_contain_text(token[:12])
    expect(row).to_contain_text("Never")

    # The token works for a script, which the page then shows as its last use.
    api = page.request.get(
        f"{live_server.url}/api/certificates", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status == 200
    assert api.json() == {"value": [], "count": 0, "nextLink": None}

    # Shown once: a fresh visit shows only its beginning.
    open_section(page, "API tokens")
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_text(token)).to_have_count(0)
    row = page.get_by_role("row", name="rotation job")
    expect(row).not_to_contain_text("Never")

    row.get_by_role("button", name="Revoke rotation job").click()
    expect(page.get_by_text("revoked. Calls with it are refused from now on.")).to_be_visible()
    expect(page.get_by_role("row", name="rotation job")).to_have_count(0)
    refused = page.request.get(
        f"{live_server.url}/api/certificates", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status == 401
    assert refused.json()["error"]["code"] == "Unauthorized"


def test_the_api_docs_page_shows_the_reference(sign_in, reviewer, live_server):
    page = sign_in(reviewer)
    open_section(page, "API tokens")
    page.get_by_role("link", name="REST API").click()
    expect(page.get_by_role("heading", name="Client certificates")).to_be_visible()
    expect(page.get_by_text("/api/certificates/{certificateId}").first).to_be_visible()
    page.get_by_role("link", name="openapi.json", exact=True).click()
    assert '"openapi": "3.0.3"' in page.content()

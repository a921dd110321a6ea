"""Keyboard users: focus lands on the first field of add and edit forms, and after an htmx swap
it moves into the swapped region, never back to <body>."""

from playwright.sync_api import expect

from apis.actions import create_api
from tests.certificates.factories import fake_certificates


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e === document.body ? 'BODY' : (e.id || e.name || e.tagName); }"
    )


def test_add_forms_focus_their_first_field_filter_forms_do_not(sign_in, administrator, live_server):
    page = sign_in(administrator)
    for url, field in [
        ("/apis/+add/", "id_display_name"),
        ("/certificates/+add/", "id_certificate"),
        ("/backends/+add/", "id_name"),
        ("/users/add/", "id_username"),
    ]:
        page.goto(live_server.url + url)
        expect(page.locator(f"#{field}")).to_be_focused()
    # Sent back with an error: the field to correct has focus.
    page.goto(live_server.url + "/users/add/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("E-mail").fill("not an address")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("A user with this username exists already.")).to_be_visible()
    expect(page.locator("#id_username")).to_be_focused()
    page.goto(live_server.url + "/certificates/")
    assert focused(page) == "BODY"
    page.goto(live_server.url + "/audit/")
    assert focused(page) == "BODY"


def test_focus_follows_the_pencil_and_the_filters(sign_in, administrator, live_server):
    fake_certificates(3)
    api = create_api(display_name="Orders", service_url="https://127.0.0.1:9/v1", path="orders")
    page = sign_in(administrator)
    page.goto(live_server.url + api.get_absolute_url())
    page.get_by_role("link", name="Edit backend").click()
    # The pencil's form: its first field has focus.
    expect(page.locator("#backend form input:focus")).to_have_count(1)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Edit backend")).to_be_visible()
    # The summary that comes back: its heading (or first link) has focus, not <body>.
    expect(page.locator("#backend :focus")).to_have_count(1)

    # Filters: typing keeps focus in the search box while the results are swapped.
    page.goto(live_server.url + "/certificates/")
    search = page.get_by_label("Search")
    search.click()
    search.press_sequentially("cert-0001")
    expect(page.get_by_text("1 certificate matches")).to_be_visible()
    expect(search).to_be_focused()
    # A sort link replaced by the swap: focus stays on the same link in the new table.
    page.get_by_role("link", name="Subject").click()
    expect(page.locator("#results a:focus", has_text="Subject")).to_have_count(1)

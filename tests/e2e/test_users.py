"""An administrator adds a user, who must choose a password at the first sign-in."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import open_section


def test_add_a_user_who_changes_the_one_time_password(sign_in, administrator, live_server, browser):
    page = sign_in(administrator)
    open_section(page, "Users")
    page.get_by_role("link", name="+ Add user").click()
    expect(page.get_by_label("Username")).to_be_focused()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Reviewer").check()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="User bob created")).to_be_visible()
    password = page.locator("#one-time-password").inner_text().strip()
    open_section(page, "Users")
    row = page.get_by_role("row", name="bob")
    expect(row).to_contain_text("Reviewer")
    expect(row).to_contain_text("One-time password")
    expect(row).to_contain_text("Never")

    # Bob signs in with it and must choose his own before anything else.
    bob = browser.new_context().new_page()
    bob.goto(f"{live_server.url}/certificates/")
    bob.get_by_label("Username").fill("bob")
    bob.get_by_label("Password").fill(password)
    bob.get_by_role("button", name="Sign in").click()
    expect(bob.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(bob.get_by_text("You signed in with a one-time password")).to_be_visible()
    bob.get_by_label("Old password").fill(password)
    bob.get_by_label("New password", exact=True).fill(PASSWORD)
    bob.get_by_label("New password confirmation").fill(PASSWORD)
    bob.get_by_role("button", name="Change password").click()
    expect(bob.get_by_text("Your password is changed.")).to_be_visible()
    # A reviewer: no Users link.
    expect(
        bob.get_by_role("navigation", name="Main").get_by_role("link", name="Users")
    ).to_have_count(0)
    bob.context.close()

    page.reload()
    expect(page.get_by_role("row", name="bob")).not_to_contain_text("One-time password")

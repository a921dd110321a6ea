from playwright.sync_api import expect


def test_sign_in_see_the_navigation_and_sign_out(sign_in, administrator, live_server):
    page = sign_in(administrator)
    navigation = page.get_by_role("navigation", name="Main")
    for label in ("APIs", "Backends", "Client certificates", "CA certificates", "Audit log"):
        expect(navigation.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_text("alice")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(f"{live_server.url}/certificates/")
    expect(page).to_have_url(f"{live_server.url}/signin/?next=/certificates/")


def test_a_wrong_password_is_refused_with_a_message(page, live_server, administrator):
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

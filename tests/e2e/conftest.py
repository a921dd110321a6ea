import shutil

import pytest

from tests.apis.conftest import api, make_certificate  # noqa: F401  (fixtures for flows)
from tests.conftest import PASSWORD
from tests.gateway.conftest import (  # noqa: F401  (fixtures for the Test tab's browser test)
    _fresh_worker,
    client_ca,
    client_certificate,
    make_api,
    make_backend,
    server_ca,
    start_backend,
    trusted_ca,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium, never a downloaded browser.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def sign_in(page, live_server):
    def sign_in_as(user):
        page.goto(f"{live_server.url}/signin/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main").wait_for()
        return page

    return sign_in_as


def open_section(page, label):
    """Follow an entry of the left navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def wait_for_htmx(page):
    """Wait until htmx has swapped and settled, so the next action meets the new elements."""
    page.wait_for_function("!document.querySelector('.htmx-settling, .htmx-request')")

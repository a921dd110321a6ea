"""Every page fits a phone (390x844) and a laptop (1280x800): nothing scrolls sideways.

The inventory is seeded with long ids, long thumbprints, long URLs and several rows, so that
tables have to reflow or scroll inside their own box. Console errors (a CSP violation, say)
fail the test too.
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from accounts.roles import REVIEWERS
from accounts.tokens import issue_token
from apis.actions import (
    GatewayCredentials,
    create_api,
    save_backend,
    save_operation,
    set_gateway_credentials,
)
from apis.models import Backend, CredentialsKind, Operation
from certificates.actions import import_ca_certificate, import_certificate
from tests import pki
from tests.certificates.factories import fake_certificates

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
LONG = "orders-client-certificate-for-the-payments-platform-production"
# Screenshots for people to look at (never in the repository): PORTAL_SCREENSHOTS=/tmp/shots
SCREENSHOTS = os.environ.get("PORTAL_SCREENSHOTS")


@pytest.fixture
def inventory(administrator):
    issuer = pki.make_ca("Payments Platform Issuing CA for Production Workloads")
    leaf = pki.make_leaf(issuer, "orders-client.payments-platform.production.example.test")
    certificate = import_certificate(
        LONG, pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate
    for index in range(12):
        fake_certificates(1, start=index, name=f"{LONG}-{index:04d}")
    ca = import_ca_certificate(
        "payments-platform-issuing-ca-for-production-workloads", pki.certificate_pem(issuer)
    )
    url = "https://orders-backend.payments-platform.production.internal.example.test:9443/v1"
    api = create_api(
        display_name="Orders API for the payments platform in production",
        service_url=url + "/orders/with/a/long/path",
        path="payments/production/orders",
    )
    set_gateway_credentials(
        api, GatewayCredentials(CredentialsKind.CERTIFICATE, certificate), version=None
    )
    for method, template in [("GET", "/orders/{orderId}/lines/{lineId}"), ("POST", "/orders")]:
        save_operation(
            Operation(
                api=api,
                display_name=f"{method} {template}",
                method=method,
                url_template=template,
                name=f"{method.lower()}-orders",
            ),
            created=True,
        )
    backend = save_backend(
        Backend(
            name="payments-platform-production-orders-backend",
            url=url,
            validate_certificate_chain=False,
        ),
        ca_certificates=[ca],
        client_certificates=[certificate],
    )
    reviewer = User.objects.create_user("reviewer-with-a-rather-long-username@example.test")
    reviewer.groups.add(Group.objects.get(name=REVIEWERS))
    for name in ("certificate rotation job for the payments platform", "nightly export"):
        issue_token(administrator, name)
    return {
        "certificate": certificate,
        "ca": ca,
        "api": api,
        "backend": backend,
        "reviewer": reviewer,
    }


def pages(seed) -> list[str]:
    api, certificate, ca, backend = seed["api"], seed["certificate"], seed["ca"], seed["backend"]
    return [
        "/",
        "/apis/",
        "/apis/+add/",
        f"/apis/{api.name}/",
        f"/apis/{api.name}/backend/",
        f"/apis/{api.name}/settings/",
        f"/apis/{api.name}/policy/",
        f"/apis/{api.name}/delete/",
        f"/apis/{api.name}/operations/+add/",
        f"/apis/{api.name}/operations/get-orders/",
        f"/apis/{api.name}/test/",
        "/backends/",
        "/backends/+add/",
        f"/backends/{backend.name}/",
        f"/backends/{backend.name}/edit/",
        f"/backends/{backend.name}/delete/",
        "/certificates/",
        "/certificates/+add/",
        f"/certificates/{certificate.name}/",
        f"/certificates/{certificate.name}/delete/",
        "/ca-certificates/",
        "/ca-certificates/+add/",
        f"/ca-certificates/{ca.name}/",
        f"/ca-certificates/{ca.name}/delete/",
        "/audit/",
        "/tokens/",
        "/users/",
        "/users/add/",
        f"/users/{seed['reviewer'].username}/",
        "/password/",
        "/api/docs",
    ]


def overflow(page) -> dict:
    return page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                   wide: [...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                                  && !e.closest('.table-wrap, .table-scroll, pre, .offscreen'))
                     .slice(0, 5).map(e => e.tagName + '.' + e.className)})"""
    )


def console_errors(page) -> list:
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_no_page_scrolls_sideways(sign_in, administrator, inventory, live_server, size):
    page = sign_in(administrator)
    errors = console_errors(page)
    page.set_viewport_size(size)
    problems = []
    for url in pages(inventory):
        response = page.goto(live_server.url + url)
        assert response.status < 400, url
        page.wait_for_load_state("load")
        found = overflow(page)
        if found["scroll"] > found["inner"]:
            problems.append((url, found))
        if SCREENSHOTS:
            name = url.strip("/").replace("/", "_") or "home"
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/{size['width']}-{name[:80]}.png", full_page=True)
    assert not problems, "\n".join(f"{url} {found}" for url, found in problems)
    assert not errors


def test_the_menu_button_opens_the_navigation_on_a_phone(sign_in, administrator, live_server):
    page = sign_in(administrator)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/")
    navigation = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(navigation).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/390-menu-open.png")
    navigation.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(navigation).to_be_hidden()
    # On a laptop the navigation is always there and the button is not.
    page.set_viewport_size(LAPTOP)
    expect(navigation).to_be_visible()
    expect(menu).to_be_hidden()


def test_no_console_error_after_a_failed_save(sign_in, administrator, inventory, live_server):
    api = inventory["api"]
    page = sign_in(administrator)
    errors = console_errors(page)

    def submit(url, button, fill=None):
        page.goto(live_server.url + url)
        for label, value in (fill or {}).items():
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name=button).click()
        expect(page.locator(".errorlist, .alert-error").first).to_be_visible()

    submit("/apis/+add/", "Create")
    submit("/certificates/+add/", "Create")
    submit("/ca-certificates/+add/", "Create")
    submit("/backends/+add/", "Save")
    page.goto(live_server.url + f"/apis/{api.name}/policy/")
    page.locator("textarea").fill("<policies><inbound>")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist, .alert-error").first).to_be_visible()
    submit(f"/apis/{api.name}/operations/+add/", "Save", {"URL template": "no spaces"})
    submit("/users/add/", "Create")
    # The pencil's Save, with htmx.
    page.goto(live_server.url + f"/apis/{api.name}/")
    page.get_by_role("link", name="Edit backend").click()
    page.get_by_label("Basic").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#backend .errorlist, #backend .alert-error").first).to_be_visible()
    assert not errors


def test_the_row_menu_is_in_view_and_keeps_its_row_visible(
    sign_in, administrator, inventory, live_server
):
    page = sign_in(administrator)
    page.set_viewport_size(LAPTOP)
    page.goto(live_server.url + "/certificates/")
    name = f"{LONG}-0011"  # the last row: its menu must not be cut off by the table's box
    button = page.get_by_label(f"More actions for {name}", exact=True)
    box = button.bounding_box()
    assert box["x"] + box["width"] <= LAPTOP["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]
    button.click()
    items = page.locator("details.row-menu[open] .row-menu-items")
    expect(items.get_by_role("link", name="Delete")).to_be_visible()
    menu_box = items.bounding_box()
    first_cell = page.get_by_role("link", name=name, exact=True).bounding_box()
    assert menu_box["x"] >= first_cell["x"] + first_cell["width"]  # the row's Id stays visible
    assert menu_box["y"] + menu_box["height"] <= LAPTOP["height"]  # in the window, not clipped
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/1280-row-menu-open.png")

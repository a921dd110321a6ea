"""The inventory in a browser: live filters in the address bar, the back button, exports."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from certificates.models import Certificate
from tests.certificates.factories import fake_certificate, fake_certificates, use_in_api
from tests.conftest import PASSWORD
from tests.e2e.conftest import open_section


@pytest.fixture
def inventory(db):
    now = timezone.now()
    fake_certificates(60, not_after=now + timedelta(days=100))  # none used
    Certificate.objects.bulk_create(
        [
            fake_certificate(
                900,
                name="payments-old",
                owner="Payments",
                tags=["pci"],
                not_after=now - timedelta(days=3),
            ),
            fake_certificate(
                901,
                name="orders-soon",
                subject='=HYPERLINK("x")',
                not_after=now + timedelta(hours=30),
            ),
        ]
    )
    use_in_api(Certificate.objects.get(name="orders-soon"))


def rows(page):
    return page.locator("#results tbody tr")


def test_filter_sort_go_back_and_export(sign_in, reviewer, inventory, live_server):
    page = sign_in(reviewer)
    # Signing in lands on the dashboard with its chart.
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("expiring per month"))).to_be_visible()

    open_section(page, "Client certificates")
    status = page.locator("#results [role=status]")
    expect(status).to_contain_text("1\N{EN DASH}50 of 62 certificates")

    # Typing filters without a click; the address bar follows.
    page.get_by_label("Search", exact=True).fill("payments")
    expect(page).to_have_url(re.compile(r"/certificates/\?q=payments$"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Payments")

    page.get_by_label("Search", exact=True).fill("")
    expect(page).to_have_url(f"{live_server.url}/certificates/")
    days = page.get_by_label("Days", exact=True)
    expect(days).to_be_hidden()
    page.get_by_label("Expiry", exact=True).select_option("expiring")
    expect(page).to_have_url(re.compile(r"\?status=expiring$"))
    expect(days).to_be_visible()
    expect(status).to_contain_text("1 certificate matches the filters")
    expect(rows(page).first).to_contain_text("orders-soon")
    expect(rows(page).first).to_contain_text("1 API")

    page.get_by_label("Expiry", exact=True).select_option("")
    page.get_by_label("Usage", exact=True).select_option("unused")
    expect(page).to_have_url(re.compile(r"\?usage=unused$"))
    expect(status).to_contain_text("of 61 certificates")

    # Sorting keeps the filters, and a new filter keeps the sort.
    page.get_by_role("link", name="Expiration date").click()
    expect(page).to_have_url(re.compile(r"\?usage=unused&sort=expires$"))
    expect(rows(page).first).to_contain_text("payments-old")
    page.get_by_role("link", name="Expiration date").click()
    expect(page).to_have_url(re.compile(r"\?usage=unused&sort=-expires$"))
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Expiration date")
    page.get_by_label("Key type", exact=True).select_option("RSA")
    expect(page).to_have_url(re.compile(r"\?usage=unused&key_type=RSA&sort=-expires$"))

    # Pages load in place and keep everything.
    page.get_by_label("Per page", exact=True).select_option("25")
    expect(page).to_have_url(re.compile(r"key_type=RSA&sort=-expires&per_page=25$"))
    page.get_by_role("link", name="Next", exact=True).click()
    expect(page).to_have_url(re.compile(r"key_type=RSA&sort=-expires&per_page=25&page=2$"))
    expect(status).to_contain_text("26\N{EN DASH}")

    # The back button walks back through the filters, controls included.
    page.go_back()
    expect(page).to_have_url(re.compile(r"key_type=RSA&sort=-expires&per_page=25$"))
    expect(status).to_contain_text("1\N{EN DASH}25 of")
    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?usage=unused&sort=-expires$"))
    expect(page.get_by_label("Key type", exact=True)).to_have_value("")
    expect(page.get_by_label("Usage", exact=True)).to_have_value("unused")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Expiration date")

    # A shared link opens the same list.
    page.goto(f"{live_server.url}/certificates/?status=expired")
    expect(page.get_by_label("Expiry", exact=True)).to_have_value("expired")
    expect(rows(page)).to_have_count(1)

    # The export holds what the list shows, formulas defused.
    page.get_by_label("Expiry", exact=True).select_option("expiring")
    expect(page).to_have_url(re.compile(r"\?status=expiring$"))
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [row["Id"] for row in exported] == ["orders-soon"]
    assert exported[0]["Subject"] == '\'=HYPERLINK("x")'
    assert exported[0]["Used by"] == "API Orders"


def test_the_filters_work_without_javascript(browser, live_server, reviewer, inventory):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill(reviewer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/certificates/?sort=-id")
    page.get_by_label("Search", exact=True).fill("orders")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"q=orders"))
    expect(page).to_have_url(re.compile(r"sort=-id"))
    expect(rows(page)).to_have_count(1)
    context.close()


def test_an_administrator_tags_a_certificate_in_place(sign_in, administrator, inventory):
    page = sign_in(administrator)
    open_section(page, "Client certificates")
    page.get_by_label("Search", exact=True).fill("orders")
    expect(rows(page)).to_have_count(1)
    page.get_by_role("link", name="orders-soon").click()
    page.get_by_text("Edit owner, contact and tags").click()
    page.get_by_label("Owner", exact=True).fill("Orders team")
    page.get_by_label("Tags", exact=True).fill("prod, Orders")
    page.get_by_role("button", name="Save").click()
    panel = page.locator("#ownership")
    expect(panel).to_contain_text("Owner, contact and tags saved.")
    expect(panel.get_by_role("link", name="orders", exact=True)).to_be_visible()
    panel.get_by_role("link", name="prod", exact=True).click()
    expect(page).to_have_url(re.compile(r"/certificates/\?tag=prod$"))
    expect(rows(page)).to_have_count(1)

    open_section(page, "Audit log")
    page.get_by_label("Action", exact=True).select_option("certificate-ownership-changed")
    expect(page).to_have_url(re.compile(r"\?action=certificate-ownership-changed$"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr").first).to_contain_text("Orders team")


def test_keyset_pages_with_htmx_keep_sort_and_the_back_button(
    sign_in, reviewer, inventory, live_server, monkeypatch
):
    from lib import listing

    monkeypatch.setattr(listing, "NUMBERED_PAGES", 1)
    page = sign_in(reviewer)
    page.goto(f"{live_server.url}/certificates/?sort=-id&per_page=25")
    expect(rows(page)).to_have_count(25)
    expect(rows(page).first).to_contain_text("payments-old")
    page.get_by_role("link", name="Next", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?sort=-id&per_page=25&after=cert-0037$"))
    expect(rows(page).first).to_contain_text("cert-0036")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Id")
    page.get_by_role("link", name="Last", exact=True).click()
    expect(page).to_have_url(re.compile(r"page=last$"))
    expect(rows(page).last).to_contain_text("cert-0000")
    page.go_back()
    expect(page).to_have_url(re.compile(r"after=cert-0037$"))
    expect(rows(page).first).to_contain_text("cert-0036")
    page.get_by_role("link", name="Previous", exact=True).click()
    expect(page).to_have_url(re.compile(r"before=cert-0036$"))
    expect(rows(page).first).to_contain_text("payments-old")

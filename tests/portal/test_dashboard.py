"""The dashboard: totals, the expiry chart and the next certificates to expire."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import Certificate
from portal.bar_chart import Point, bar_chart
from tests.certificates.factories import (
    fake_certificate,
    fake_certificates,
    use_in_api,
    use_in_backend,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread():
    now = timezone.now()
    days = {"expired": -5, "d10": 10, "d45": 45, "d75": 75, "d200": 200}
    Certificate.objects.bulk_create(
        [
            fake_certificate(index, name=name, not_after=now + timedelta(days=offset))
            for index, (name, offset) in enumerate(days.items())
        ]
    )
    use_in_api(Certificate.objects.get(name="d10"))
    use_in_backend(Certificate.objects.get(name="d45"))


def test_the_totals_link_to_the_filtered_list(admin_client, spread):
    response = admin_client.get("/")
    cards = {label: (value, url) for label, value, url in response.context["cards"]}
    assert cards == {
        "Client certificates": (5, "/certificates/"),
        "Expired": (1, "/certificates/?status=expired"),
        "Expiring within 30 days": (1, "/certificates/?status=expiring"),
        "Expiring within 60 days": (2, "/certificates/?status=expiring&within=60"),
        "Expiring within 90 days": (3, "/certificates/?status=expiring&within=90"),
        "Unused": (3, "/certificates/?usage=unused"),
    }
    content = response.content.decode()
    assert 'href="/certificates/?status=expiring&amp;within=60"' in content
    # Each card leads to a list of exactly that many certificates.
    for value, url in cards.values():
        listing = admin_client.get(url)
        assert listing.context["page"].paginator.count == value


def test_the_chart_is_an_accessible_svg_without_inline_styles(admin_client, spread):
    content = admin_client.get("/").content.decode()
    svg = re.search(r"<svg.*?</svg>", content, re.S).group(0)
    assert 'role="img"' in svg
    assert 'aria-labelledby="expiry-chart-title expiry-chart-desc"' in svg
    assert '<title id="expiry-chart-title">' in svg
    assert "<desc" in svg
    assert svg.count("<rect") == 12
    assert svg.count('class="chart-value"') == 12
    assert "style=" not in svg
    assert " fill=" not in svg  # colours come from the stylesheet
    month = (timezone.now() + timedelta(days=10)).strftime("%B %Y")
    assert re.search(rf"<title>{month}: [1-9]\d* certificates?</title>", svg)


def test_the_chart_counts_expirations_per_month():
    from certificates.inventory import expirations_by_month

    now = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
    Certificate.objects.bulk_create(
        [
            fake_certificate(1, not_after=datetime(2027, 1, 10, tzinfo=UTC)),  # expired
            fake_certificate(2, not_after=datetime(2027, 1, 31, 23, 59, tzinfo=UTC)),
            fake_certificate(3, not_after=datetime(2027, 2, 1, tzinfo=UTC)),
            fake_certificate(4, not_after=datetime(2027, 12, 31, tzinfo=UTC)),
            fake_certificate(5, not_after=datetime(2028, 1, 1, tzinfo=UTC)),  # 13th month
        ]
    )
    months = expirations_by_month(now, 12)
    assert len(months) == 12
    assert months[0] == (datetime(2027, 1, 1, tzinfo=UTC), 1)
    assert months[1] == (datetime(2027, 2, 1, tzinfo=UTC), 1)
    assert months[11] == (datetime(2027, 12, 1, tzinfo=UTC), 1)
    assert sum(count for _, count in months) == 3


def test_the_totals_include_their_bounds_and_count_a_certificate_used_twice_once():
    from certificates.inventory import expiry_totals

    now = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
    Certificate.objects.bulk_create(
        [
            fake_certificate(1, name="at-now", not_after=now),
            fake_certificate(2, name="at-30", not_after=now + timedelta(days=30)),
            fake_certificate(3, name="after-30", not_after=now + timedelta(days=30, seconds=1)),
        ]
    )
    twice = Certificate.objects.get(name="at-30")
    use_in_api(twice)
    use_in_backend(twice)
    totals = expiry_totals(now, (30,))
    assert totals == {"all": 3, "expired": 1, "within_30": 1, "unused": 2}


def test_the_next_to_expire_show_what_uses_them(admin_client, spread):
    response = admin_client.get("/")
    upcoming = response.context["next_to_expire"]
    assert [certificate.name for certificate in upcoming] == ["d10", "d45", "d75", "d200"]
    content = response.content.decode()
    assert 'href="/apis/orders/' in content
    assert 'href="/backends/orders-backend/' in content


def test_an_expired_certificate_still_in_use_comes_first(admin_client, spread):
    use_in_api(Certificate.objects.get(name="expired"), name="legacy")
    upcoming = admin_client.get("/").context["next_to_expire"]
    assert [certificate.name for certificate in upcoming] == [
        "expired",
        "d10",
        "d45",
        "d75",
        "d200",
    ]


def test_the_dashboard_costs_the_same_queries_at_5_and_200_certificates(admin_client):
    def count():
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get("/").status_code == 200
        return len(context.captured_queries)

    rows = fake_certificates(5)
    for index, certificate in enumerate(rows):
        use_in_api(certificate, name=f"api-{index}")
        use_in_backend(certificate, name=f"backend-{index}")
    admin_client.get("/")
    small = count()
    rows = fake_certificates(195, start=5)
    for index, certificate in enumerate(rows[:20]):
        use_in_api(certificate, name=f"more-api-{index}")
    assert count() == small


def test_a_reviewer_sees_the_dashboard_and_an_outsider_does_not(client, reviewer, outsider):
    fake_certificates(2)
    client.force_login(reviewer)
    assert "Expiring within 90 days" in client.get("/").content.decode()
    client.force_login(outsider)
    content = client.get("/").content.decode()
    assert "You have no role yet" in content
    assert "<svg" not in content


def test_sign_in_lands_on_the_dashboard(client, administrator):
    from tests.conftest import PASSWORD

    response = client.post("/signin/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"<h1>Dashboard</h1>" in response.content


def test_bar_geometry_scales_to_the_largest_value():
    chart = bar_chart(
        [Point("Jan", "January: 0", 0), Point("Feb", "February: 5", 5), Point("Mar", "", 1)],
        width=300,
        height=140,
        top=20,
        bottom=40,
        side=0,
    )
    empty, full, small = chart.bars
    assert chart.baseline == 100
    assert full.height == 80 and full.y == 20
    assert empty.height == 0 and empty.y == 100
    assert small.height == 16
    assert full.center == 150
    assert full.value_y == 14
    assert chart.total == 6


def test_an_empty_chart_has_flat_bars():
    chart = bar_chart([Point("Jan", "", 0)] * 12)
    assert all(bar.height == 0 for bar in chart.bars)
    assert bar_chart([]).bars == ()

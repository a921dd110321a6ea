"""The inventory at scale: search by index with exact matches first, counts that stay right
after bulk writes, keyset pages, and query counts that do not grow with the inventory. These
run on SQLite and, with `make test-postgres`, on PostgreSQL: both must answer alike."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.inventory import expiry_totals
from certificates.models import Certificate
from lib import listing
from tests.certificates.factories import fake_certificate, fake_certificates, use_in_api

pytestmark = pytest.mark.django_db

NEXT = re.compile(r'rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'rel="prev" href="([^"]+)"')


def shown(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response, [certificate.name for certificate in response.context["certificates"]]


def expected(**filters):
    """Every certificate's name, sorted by Id: what a walk over the pages must visit."""
    return list(
        Certificate.objects.filter(**filters).order_by("name").values_list("name", flat=True)
    )


# Search ---------------------------------------------------------------------------------------


@pytest.fixture
def varied():
    """Certificates whose searchable text sits in every searched field, one with a long SAN
    list (longer than a PostgreSQL b-tree entry may be)."""
    rows = [
        fake_certificate(1, name="api-1"),
        fake_certificate(2, name="api-10"),
        fake_certificate(3, name="api-100", owner="Payments"),
        fake_certificate(4, name="billing", contact="billing-team@example.test"),
        fake_certificate(5, name="partner", friendly_name="Partner gateway", tags=["pci", "eu"]),
        fake_certificate(
            6,
            name="front-door",
            sans=[f"service-{n:04d}.front.example.test" for n in range(400)],
        ),
    ]
    return {row.name: row for row in Certificate.objects.bulk_create(rows)}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("api-1", ["api-1", "api-10", "api-100"]),
        ("API-10", ["api-10", "api-100"]),
        ("payments", ["api-100"]),
        ("billing-team@", ["billing"]),
        ("partner gateway", ["partner"]),
        ('"pci"', ["partner"]),
        ("service-0399.front", ["front-door"]),
        ("host5.example", ["partner"]),
        ("nothing-like-this", []),
        ("ab", []),
    ],
)
def test_the_search_covers_every_field(admin_client, varied, text, names):
    _, found = shown(admin_client, "/certificates/", q=text)
    assert sorted(found) == names


def test_an_exact_id_is_shown_first_then_the_other_matches(admin_client, varied):
    response, found = shown(admin_client, "/certificates/", q="api-10", sort="-id")
    assert found == ["api-10", "api-100"]
    assert response.context["exact"].name == "api-10"
    assert "Exact match" in response.content.decode()
    assert response.context["total"] == 2
    # Without the exact Id the order is the chosen one.
    _, found = shown(admin_client, "/certificates/", q="api-1", sort="-id")
    assert found == ["api-1", "api-100", "api-10"]


def test_a_whole_thumbprint_is_shown_first_with_colons_and_in_lower_case(admin_client, varied):
    thumbprint = varied["billing"].thumbprint
    spaced = ":".join(thumbprint[i : i + 2] for i in range(0, 40, 2)).lower()
    response, found = shown(admin_client, "/certificates/", q=spaced)
    assert found == ["billing"]
    assert response.context["exact"].name == "billing"


def test_an_exact_match_that_the_filters_exclude_is_not_shown(admin_client, varied):
    response, found = shown(admin_client, "/certificates/", q="api-10", key_type="EC")
    assert response.context["exact"] is None
    assert found == ["api-100"]  # api-10 is an RSA certificate


def test_a_tag_filter_matches_whole_tags_only(admin_client, varied):
    Certificate.objects.filter(name="billing").update(owner='say "pci" here')
    _, found = shown(admin_client, "/certificates/", tag="pci")
    assert found == ["partner"]


# Counts ---------------------------------------------------------------------------------------


def test_counts_are_right_after_bulk_writes(admin_client):
    now = timezone.now()
    fake_certificates(40)
    assert shown(admin_client, "/certificates/")[0].context["total"] == 40
    Certificate.objects.filter(name__lt="cert-0010").update(not_after=now - timedelta(days=1))
    totals = expiry_totals(timezone.now())
    assert totals["all"] == 40
    assert totals["expired"] == 10
    assert totals["unused"] == 40
    use_in_api(Certificate.objects.get(name="cert-0020"))
    assert expiry_totals(timezone.now())["unused"] == 39
    Certificate.objects.filter(name__gte="cert-0030").delete()
    response = shown(admin_client, "/certificates/", status="expired")[0]
    assert response.context["total"] == 10
    assert expiry_totals(timezone.now())["all"] == 30


# Keyset pages -----------------------------------------------------------------------------------


@pytest.fixture
def deep(monkeypatch):
    """60 certificates, pages of 25, and keyset pages from the second page on."""
    monkeypatch.setattr(listing, "NUMBERED_PAGES", 1)
    now = timezone.now()
    rows = [
        fake_certificate(
            index,
            now=now,
            owner=["Payments", "", "Identity"][index % 3],
            last_presented_at=None if index % 4 else now - timedelta(hours=index),
            # Ties on the expiration date: the Id must break them.
            not_after=now + timedelta(days=index % 5 + 1),
        )
        for index in range(60)
    ]
    Certificate.objects.bulk_create(rows)
    use_in_api(Certificate.objects.get(name="cert-0007"), name="one")
    use_in_api(Certificate.objects.get(name="cert-0007"), name="two")
    use_in_api(Certificate.objects.get(name="cert-0031"), name="three")


def walk(client, url, pattern):
    """Follow one kind of link (Next or Previous) from `url` to the end; the names seen and the
    URLs visited."""
    seen, urls = [], []
    while url:
        urls.append(url)
        assert len(urls) < 20, "the walk does not end"
        response, names = shown(client, url)
        seen += names
        found = pattern.search(response.content.decode())
        url = unescape(found[1]) if found else None
        if url and url.startswith("?"):
            url = "/certificates/" + url
    return seen, urls


@pytest.mark.parametrize(
    "sort",
    [
        "id",
        "-id",
        "expires",
        "-expires",
        "presented",
        "-presented",
        "key",
        "-key",
        "used",
        "-used",
        "owner",
        "-owner",
        "subject",
        "-thumbprint",
    ],
)
def test_keyset_pages_visit_every_row_once_in_order_both_ways(admin_client, deep, sort):
    start = f"/certificates/?sort={sort}&per_page=25"
    _, every = shown(admin_client, f"/certificates/?sort={sort}&per_page=100")
    forwards, urls = walk(admin_client, start, NEXT)
    assert forwards == every
    assert any("after=" in url for url in urls)
    kept = "per_page=25" if sort == "id" else f"sort={sort}"  # the default sort is left out
    assert all(kept in url and "per_page=25" in url for url in urls)
    backwards = []
    url = f"/certificates/?sort={sort}&per_page=25&page=last"
    while url:
        response, names = shown(admin_client, url)
        backwards = names + backwards
        found = PREVIOUS.search(response.content.decode())
        url = "/certificates/" + unescape(found[1]) if found else None
    assert backwards == every


def test_keyset_pages_keep_the_filters(admin_client, deep):
    start = "/certificates/?sort=-expires&per_page=25&key_type=RSA&presented=never"
    forwards, urls = walk(admin_client, start, NEXT)
    expected_rows = list(
        Certificate.objects.filter(key_type="RSA", last_presented_at=None)
        .order_by("-not_after", "name")
        .values_list("name", flat=True)
    )
    assert forwards == expected_rows
    assert all("key_type=RSA" in url and "presented=never" in url for url in urls)


def test_a_page_after_a_deleted_row_says_so_and_starts_over(admin_client, deep):
    response, names = shown(admin_client, "/certificates/", after="cert-9999")
    assert names[0] == "cert-0000"
    assert "no longer in the list" in response.content.decode()
    response, names = shown(admin_client, "/certificates/", after="")
    assert names[0] == "cert-0000"


def test_htmx_keyset_pages_push_their_address(admin_client, deep):
    response = admin_client.get(
        "/certificates/", {"after": "cert-0024", "sort": "expires"}, HTTP_HX_REQUEST="true"
    )
    assert response["HX-Push-Url"] == "/certificates/?sort=expires&after=cert-0024"


def test_a_reviewer_pages_through_keyset_pages(client, reviewer, deep):
    client.force_login(reviewer)
    _, names = shown(client, "/certificates/", page="last", per_page=25)
    assert names == expected()[-25:]


# Query counts ---------------------------------------------------------------------------------


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/certificates/",
        "/certificates/?page=last",
        "/certificates/?after=cert-0030&sort=-used",
        "/certificates/?before=cert-0040&sort=presented",
        "/certificates/?q=cert-0003",
        "/certificates/?q=host&status=valid&usage=unused&tag=pci",
        "/",
    ],
)
def test_query_counts_do_not_grow_with_the_inventory(admin_client, url):
    fake_certificates(60)
    admin_client.get(url)  # the session's first request reads the user once more
    small = queries(admin_client, url)
    fake_certificates(240, start=60)
    use_in_api(Certificate.objects.get(name="cert-0100"))
    assert queries(admin_client, url) == small


def test_a_broad_search_counts_up_to_a_limit_and_says_so(admin_client, monkeypatch):
    from certificates import inventory

    monkeypatch.setattr(inventory, "SEARCH_COUNT_LIMIT", 30)
    fake_certificates(40)
    response, found = shown(admin_client, "/certificates/", q="host", per_page=25)
    assert len(found) == 25
    assert "more than 30 certificates match" in response.content.decode()
    response, found = shown(admin_client, "/certificates/", q="host1")  # host1, host10..19
    assert response.context["total"] == 11
    assert not response.context["count_capped"]
    # Without a search the count is exact.
    assert shown(admin_client, "/certificates/")[0].context["total"] == 40


def test_search_reads_the_trigram_index_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("The trigram index exists on PostgreSQL only.")
    from certificates.search import search

    fake_certificates(3)
    with CaptureQueriesContext(connection) as captured:
        queryset = search(Certificate.objects.all(), "host1.example")
    [keys] = captured.captured_queries
    with connection.cursor() as cursor:
        # A table of three rows is cheaper to scan: ask what the plan is when it is not.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {keys['sql']}")
        plan = " / ".join(row[0] for row in cursor.fetchall())
    assert "certificate_search_trgm" in plan, plan
    assert [certificate.name for certificate in queryset] == ["cert-0001"]

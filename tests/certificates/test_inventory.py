"""The Client certificates list as an inventory: filters, search, sorting, paging, htmx."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import SEARCH_SEPARATOR, CACertificate, Certificate
from certificates.ownership import set_ownership
from certificates.search import search
from tests.certificates.factories import (
    fake_certificate,
    fake_certificates,
    use_in_api,
    use_in_backend,
)

pytestmark = pytest.mark.django_db


def names(client, **params):
    response = client.get("/certificates/", params)
    assert response.status_code == 200
    return [certificate.name for certificate in response.context["certificates"]]


@pytest.fixture
def inventory():
    now = timezone.now()
    rows = {
        "expired": fake_certificate(1, name="expired", not_after=now - timedelta(days=3)),
        "soon": fake_certificate(2, name="soon", not_after=now + timedelta(days=5)),
        "later": fake_certificate(3, name="later", not_after=now + timedelta(days=45)),
        "future": fake_certificate(
            4,
            name="future",
            not_before=now + timedelta(days=2),
            not_after=now + timedelta(days=400),
        ),
    }
    Certificate.objects.bulk_create(rows.values())
    return {name: Certificate.objects.get(name=name) for name in rows}


def test_it_filters_by_expiry(admin_client, inventory):
    assert names(admin_client, status="expired") == ["expired"]
    assert names(admin_client, status="expiring") == ["soon"]
    assert names(admin_client, status="expiring", within=60) == ["later", "soon"]
    assert names(admin_client, status="valid") == ["later", "soon"]
    assert names(admin_client, status="not-yet-valid") == ["future"]
    assert names(admin_client) == ["expired", "future", "later", "soon"]


def test_it_filters_by_usage_and_last_presentation(admin_client, inventory):
    use_in_api(inventory["soon"])
    use_in_backend(inventory["later"])
    Certificate.objects.filter(name="soon").update(last_presented_at=timezone.now())
    Certificate.objects.filter(name="later").update(
        last_presented_at=timezone.now() - timedelta(days=90)
    )
    assert names(admin_client, usage="used") == ["later", "soon"]
    assert names(admin_client, usage="unused") == ["expired", "future"]
    assert names(admin_client, presented="never") == ["expired", "future"]
    assert names(admin_client, presented="recent") == ["soon"]
    assert names(admin_client, presented="stale") == ["expired", "future", "later"]
    assert names(admin_client, usage="used", presented="stale") == ["later"]


def test_it_filters_by_issuer_key_type_and_tag(admin_client, inventory):
    Certificate.objects.filter(name="soon").update(self_signed=True, tags=["prod", "payments"])
    Certificate.objects.filter(name="later").update(tags=["production"])
    assert names(admin_client, self_signed="yes") == ["soon"]
    assert names(admin_client, self_signed="no") == ["expired", "future", "later"]
    key_types = dict(Certificate.objects.values_list("name", "key_type"))
    rsa = sorted(name for name, key_type in key_types.items() if key_type == "RSA")
    assert names(admin_client, key_type="RSA") == rsa
    # A tag filter matches whole tags, in any case.
    assert names(admin_client, tag="PROD") == ["soon"]
    assert names(admin_client, tag="production") == ["later"]


def test_search_covers_owner_contact_tags_and_friendly_name(admin_client, inventory):
    Certificate.objects.filter(name="soon").update(
        owner="Payments team", contact="pay@example.test", tags=["pci"]
    )
    Certificate.objects.filter(name="later").update(friendly_name="Legacy client")
    assert names(admin_client, q="payments") == ["soon"]
    assert names(admin_client, q="pay@example") == ["soon"]
    assert names(admin_client, q="pci") == ["soon"]
    assert names(admin_client, q="legacy") == ["later"]
    thumbprint = inventory["future"].thumbprint
    assert names(admin_client, q=f"{thumbprint[:2].lower()}:{thumbprint[2:6]}") == ["future"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("expires", ["expired", "soon", "later", "future"]),
        ("-expires", ["future", "later", "soon", "expired"]),
        ("-id", ["soon", "later", "future", "expired"]),
        ("used", ["expired", "future", "later", "soon"]),
        ("-used", ["soon", "expired", "future", "later"]),
        ("presented", ["expired", "future", "later", "soon"]),
        ("-presented", ["soon", "expired", "future", "later"]),
        ("owner", ["expired", "future", "soon", "later"]),
    ],
)
def test_every_column_sorts(admin_client, inventory, sort, expected):
    use_in_api(inventory["soon"])
    Certificate.objects.filter(name="soon").update(last_presented_at=timezone.now())
    Certificate.objects.filter(name="later").update(owner="zeta")
    Certificate.objects.filter(name="soon").update(owner="alpha")
    assert names(admin_client, sort=sort) == expected


def test_each_header_links_to_its_sort_and_says_which_is_active(admin_client, inventory):
    response = admin_client.get("/certificates/", {"sort": "expires", "status": "valid"})
    columns = {column["key"]: column for column in response.context["columns"]}
    assert set(columns) == {
        "id",
        "subject",
        "thumbprint",
        "expires",
        "key",
        "used",
        "presented",
        "owner",
    }
    assert columns["expires"]["aria_sort"] == "ascending"
    assert columns["expires"]["url"] == "/certificates/?status=valid&sort=-expires"
    assert columns["subject"]["url"] == "/certificates/?status=valid&sort=subject"
    assert columns["subject"]["aria_sort"] is None
    assert 'aria-sort="ascending"' in response.content.decode()


def test_the_list_shows_what_uses_each_certificate_and_when_it_was_presented(
    admin_client, inventory
):
    use_in_api(inventory["soon"])
    use_in_backend(inventory["soon"])
    use_in_api(inventory["later"], name="billing")
    Certificate.objects.filter(name="later").update(last_presented_at=timezone.now())
    content = admin_client.get("/certificates/").content.decode()
    assert "1 API, 1 backend" in content
    assert "Never" in content
    assert "Not used" in content
    detail = admin_client.get("/certificates/soon/").content.decode()
    assert 'href="/apis/orders/' in detail
    assert 'href="/backends/orders-backend/' in detail


def test_bad_filter_values_are_ignored_with_a_message(admin_client, inventory):
    response = admin_client.get(
        "/certificates/",
        {
            "status": "soonish",
            "within": "-5",
            "sort": "colour",
            "per_page": "7",
            "tag": 'a"b',
            "usage": "used",
        },
    )
    assert response.status_code == 200
    problems = " ".join(response.context["problems"])
    for label in ("Expiry:", "Days:", "Sort:", "Per page:", "Tag:"):
        assert label in problems
    assert "This filter is ignored." in problems
    # The valid filter still applies; the others fall back to their defaults.
    assert response.context["inventory"].filters["usage"] == "used"
    assert response.context["inventory"].filters["within"] == 30
    assert response.context["certificates"] == []
    assert 'role="alert"' in response.content.decode()


def test_a_huge_or_odd_number_of_days_is_refused_without_error(admin_client, inventory):
    for within in ("99999999999999999999", "1e3", "0", ""):
        response = admin_client.get("/certificates/", {"status": "expiring", "within": within})
        assert response.status_code == 200


def test_a_page_past_the_end_shows_the_last_page(admin_client):
    fake_certificates(30)
    response = admin_client.get("/certificates/", {"per_page": 25, "page": 9})
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert "There is no page 9; this is page 2 of 2." in response.content.decode()
    assert admin_client.get("/certificates/", {"page": "last-ish"}).status_code == 200
    assert admin_client.get("/certificates/", {"page": "-3"}).status_code == 200


def test_pages_keep_the_filters(admin_client):
    fake_certificates(60, key_type="RSA")
    content = admin_client.get("/certificates/", {"key_type": "RSA", "sort": "-expires"})
    html = content.content.decode()
    assert 'href="?key_type=RSA&amp;sort=-expires&amp;page=2"' in html
    assert "1\N{EN DASH}50 of 60 certificates match the filters" in html


def test_htmx_gets_the_results_and_a_short_address_to_push(admin_client, inventory):
    response = admin_client.get(
        "/certificates/",
        {"q": "", "status": "expiring", "within": "30", "usage": "", "sort": "id", "page": ""},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results"')
    assert "<form" not in content
    assert "soon" in content
    assert response["HX-Push-Url"] == "/certificates/?status=expiring"
    assert "HX-Request" in response["Vary"]
    # The sort order travels with the filter form from inside the results.
    assert 'name="sort" value="id" form="inventory-filters"' in content


def test_the_back_button_gets_the_whole_page(admin_client, inventory):
    response = admin_client.get(
        "/certificates/",
        {"status": "expired"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    content = response.content.decode()
    assert "<html" in content
    assert 'id="inventory-filters"' in content
    assert '<option value="expired" selected>' in content


def test_the_filter_form_works_without_javascript(admin_client, inventory):
    content = admin_client.get("/certificates/", {"status": "expired"}).content.decode()
    assert '<form id="inventory-filters"' in content
    assert 'method="get"' in content
    assert 'hx-push-url="true"' in content
    assert 'hx-history="false"' in content
    for name in ("q", "status", "within", "usage", "presented", "self_signed", "key_type", "tag"):
        assert f'name="{name}"' in content
    assert '<button type="submit" class="button">Apply</button>' in content
    assert 'href="/certificates/export.csv?status=expired"' in content
    assert 'href="/certificates/export.json?status=expired"' in content


def test_an_outsider_cannot_list(outsider_client):
    assert outsider_client.get("/certificates/").status_code == 403


def _count_queries(client, url, **params):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(context.captured_queries)


def _grow_to(total, existing):
    rows = fake_certificates(total - existing, start=existing)
    # Every fifth certificate is used, half of those by a backend too.
    for index, certificate in enumerate(rows[::5]):
        use_in_api(certificate, name=f"api-{existing + index}")
        if index % 2:
            use_in_backend(certificate, name=f"backend-{existing + index}")
    return total


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/certificates/", {}),
        ("/certificates/", {"per_page": 200, "sort": "-used", "usage": "used"}),
        ("/certificates/", {"q": "example", "status": "valid", "presented": "never"}),
        ("/certificates/export.csv", {}),
        ("/certificates/export.json", {"sort": "presented"}),
    ],
)
def test_queries_do_not_grow_with_the_inventory(admin_client, url, params):
    _grow_to(5, 0)
    admin_client.get("/")  # the session and permission caches are warm in both rounds
    small = _count_queries(admin_client, url, **params)
    _grow_to(200, 5)
    large = _count_queries(admin_client, url, **params)
    assert small == large
    assert large < 15


def test_a_deletion_the_database_refuses_at_commit_is_answered_as_in_use(monkeypatch):
    # A usage made by a path that does not lock the certificate's row: the deletion found no
    # usage, and the foreign key refuses it at commit (PostgreSQL checks it there).
    from django.db import IntegrityError

    from certificates.actions import CertificateInUse, delete_certificate

    [certificate] = fake_certificates(1)
    use_in_api(certificate)

    def refused_at_commit(self, *args, **kwargs):
        self.pk = None  # as Model.delete() leaves it
        raise IntegrityError("still referenced from table apis_api")

    monkeypatch.setattr(Certificate, "delete", refused_at_commit)
    with pytest.raises(CertificateInUse) as refused:
        delete_certificate(certificate)
    assert [str(usage) for usage in refused.value.usages] == ["API Orders"]
    assert certificate.pk is not None


def test_the_certificate_in_use_page_costs_the_same_queries_with_many_usages(admin_client):
    [certificate] = fake_certificates(1)
    use_in_api(certificate)
    use_in_backend(certificate)
    admin_client.get("/")

    def blocked_deletion():
        with CaptureQueriesContext(connection) as context:
            response = admin_client.post("/certificates/cert-0000/delete/")
        assert response.status_code == 409
        return response, len(context.captured_queries)

    few = blocked_deletion()[1]
    for index in range(10):
        use_in_api(certificate, name=f"more-{index}")
        use_in_backend(certificate, name=f"more-backend-{index}")
    response, many = blocked_deletion()
    assert many == few
    content = response.content.decode()
    assert 'href="/apis/more-9/#backend"' in content
    assert 'href="/backends/more-backend-9/#backend"' in content
    assert Certificate.objects.filter(pk=certificate.pk).exists()


def test_a_certificate_page_costs_the_same_queries_with_many_usages(admin_client):
    [certificate] = fake_certificates(1)
    use_in_api(certificate)
    use_in_backend(certificate)
    admin_client.get("/")
    few = _count_queries(admin_client, "/certificates/cert-0000/")
    for index in range(30):
        use_in_api(certificate, name=f"more-{index}")
        use_in_backend(certificate, name=f"more-backend-{index}")
    assert _count_queries(admin_client, "/certificates/cert-0000/") == few


# Search ---------------------------------------------------------------------------------------


def search_text(name, model=Certificate):
    return model.objects.values_list("search_text", flat=True).get(name=name)


def expected_search_text(certificate) -> str:
    """The column as the model defines it: text fields, then the JSON ones, lower-cased."""
    fields = [certificate.name, certificate.subject, certificate.friendly_name]
    fields += [certificate.owner, certificate.contact]
    fields += [json.dumps(certificate.sans), json.dumps(certificate.tags)]
    return SEARCH_SEPARATOR.join(fields).lower()


def test_the_search_column_is_right_after_bulk_create():
    [made] = fake_certificates(1, owner="Payments Team", contact="Pay@Example.test", tags=["PCI"])
    assert search_text(made.name) == expected_search_text(made)
    assert "payments team" in search_text(made.name)


def test_the_search_column_is_right_after_a_queryset_update(admin_client):
    [made] = fake_certificates(1, owner="Payments Team", tags=["pci"])
    Certificate.objects.filter(pk=made.pk).update(
        owner="Billing", contact="billing@example.test", tags=["gdpr", "prod"]
    )
    certificate = Certificate.objects.get(pk=made.pk)
    assert search_text(made.name) == expected_search_text(certificate)
    assert names(admin_client, q="billing@") == [made.name]
    assert names(admin_client, q="payments") == []
    assert names(admin_client, q="pci") == []


def test_the_search_column_is_right_after_save_and_an_ownership_change(admin_client):
    certificate = fake_certificate(1)
    certificate.save()
    assert certificate.search_text == expected_search_text(certificate)
    certificate.friendly_name = "Legacy Client"
    certificate.save()
    # Read back as the row was written, on the instance too.
    assert certificate.search_text == search_text(certificate.name)
    assert "legacy client" in certificate.search_text
    set_ownership(certificate, owner="Orders", contact="", tags=["edge"])
    assert search_text(certificate.name) == expected_search_text(certificate)
    assert names(admin_client, q="edge") == [certificate.name]


@pytest.fixture
def described():
    """One certificate with something distinct in every searched field, and two others."""
    fake_certificates(2, start=5)
    return fake_certificate(
        1,
        subject="CN=Orders Client, O=Example",
        sans=["DNS:orders.internal.test", "IP:10.1.2.3"],
        friendly_name="Legacy Client",
        owner="Payments Team",
        contact="pay@example.test",
        tags=["pci", "prod"],
    )


@pytest.mark.parametrize(
    "query",
    [
        "CERT-0001",  # Id
        "orders client",  # subject
        "O=EXAMPLE",
        "ORDERS.INTERNAL",  # a SAN
        "10.1.2.3",
        "legacy",  # friendly name
        "PAYMENTS",  # owner
        "pay@example",  # contact
        "PCI",  # a tag
    ],
)
def test_search_finds_by_each_field_in_any_case(admin_client, described, query):
    described.save()
    assert names(admin_client, q=query) == ["cert-0001"]
    assert names(admin_client, q=f"  {query} ") == ["cert-0001"]


def test_search_finds_a_thumbprint_by_its_start_only(admin_client, described):
    described.save()
    thumbprint = described.thumbprint
    assert names(admin_client, q=thumbprint[:6].lower()) == ["cert-0001"]
    assert names(admin_client, q=f"{thumbprint[:2]}:{thumbprint[2:4]} {thumbprint[4:8]}") == [
        "cert-0001"
    ]
    assert names(admin_client, q=thumbprint) == ["cert-0001"]
    middle = thumbprint[10:20]
    assert names(admin_client, q=middle) == []


def test_search_never_matches_across_two_fields(admin_client, described):
    described.save()
    # The owner ends with "Team", the contact starts with "pay".
    assert names(admin_client, q="teampay") == []
    assert names(admin_client, q="team\x1fpay") == []
    assert names(admin_client, q="team pay") == []


def test_search_matches_text_outside_ascii_in_the_case_written(admin_client, described):
    described.owner = "Zürich Team"
    described.save()
    assert names(admin_client, q="zürich") == ["cert-0001"]
    assert names(admin_client, q="ZüRICH") == ["cert-0001"]


def test_search_treats_wildcards_as_text(admin_client, described):
    described.contact = "100%_sure"
    described.save()
    assert names(admin_client, q="100%_") == ["cert-0001"]
    assert names(admin_client, q="1_0") == []
    assert names(admin_client, q="%") == ["cert-0001"]


def test_a_certificate_with_thousands_of_names_is_stored_and_found(admin_client):
    # Some 70 KB of search text that does not compress: no index entry may hold it whole.
    sans = [
        f"DNS:{hashlib.sha256(str(i).encode()).hexdigest()[:24]}.example.test" for i in range(2000)
    ]
    [made] = fake_certificates(1, sans=sans)
    assert names(admin_client, q=sans[-1][4:]) == [made.name]


def test_search_reads_the_search_index_on_sqlite(admin_client):
    if connection.vendor != "sqlite":
        pytest.skip("The search index exists on SQLite only.")
    fake_certificates(3)
    with CaptureQueriesContext(connection) as captured:
        queryset = search(Certificate.objects.all(), "cert-0001")
    [keys] = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {keys['sql']}")
        plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
    assert "USING INDEX certificate_search" in plan, plan
    assert [certificate.name for certificate in queryset] == ["cert-0001"]


def test_a_search_page_searches_once(admin_client):
    fake_certificates(3)
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get("/certificates/", {"q": "cert-000"}).status_code == 200
    searching = [query for query in captured.captured_queries if "search_text" in query["sql"]]
    assert len(searching) == 1


def test_a_broad_search_stays_a_subquery(admin_client, monkeypatch):
    from certificates import search as searching

    fake_certificates(3)
    monkeypatch.setattr(searching, "SEARCH_KEYS_READ", 2)
    assert names(admin_client, q="cert-000") == ["cert-0000", "cert-0001", "cert-0002"]
    assert names(admin_client, q="cert-0001") == ["cert-0001"]


def test_search_of_the_ca_certificates(admin_client):
    now = timezone.now()
    for index, name in enumerate(["private-ca", "partner-root"]):
        CACertificate.objects.create(
            name=name,
            subject=f"CN={name.title()} CA, O=Example",
            issuer=f"CN={name.title()} CA, O=Example",
            sans=[f"DNS:{name}.example.test"],
            serial=str(index),
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365),
            thumbprint=hashlib.sha1(name.encode()).hexdigest().upper(),
            sha256_fingerprint=hashlib.sha256(name.encode()).hexdigest().upper(),
            certificate_pem="not a real certificate",
        )
    partner = CACertificate.objects.get(name="partner-root")
    assert (
        partner.search_text
        == SEARCH_SEPARATOR.join([partner.name, partner.subject, json.dumps(partner.sans)]).lower()
    )

    def ca_names(query):
        response = admin_client.get("/ca-certificates/", {"q": query})
        assert response.status_code == 200
        return [certificate.name for certificate in response.context["page"].object_list]

    assert ca_names("PRIVATE") == ["private-ca"]
    assert ca_names("partner-root.example") == ["partner-root"]
    assert ca_names(partner.thumbprint[:8].lower()) == ["partner-root"]
    assert ca_names("example") == ["partner-root", "private-ca"]
    CACertificate.objects.filter(pk=partner.pk).update(subject="CN=Renamed")
    assert ca_names("partner root") == []
    assert ca_names("renamed") == ["partner-root"]

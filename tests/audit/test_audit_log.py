"""The Audit log page: filters, CSV export, read-only for everybody."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent, AuditTrailIsAppendOnly
from audit.trail import record

pytestmark = pytest.mark.django_db


def event(action, object_id="orders", *, actor_name="alice", object_type="certificate", **kw):
    return record(
        None,
        action,
        object_type=object_type,
        object_id=object_id,
        actor_name=actor_name,
        **kw,
    )


def backdate(event, days):
    # Only tests move events in time; the trail itself never changes.
    AuditEvent._base_manager.filter(pk=event.pk).update(at=timezone.now() - timedelta(days=days))


def actions(client, **params):
    response = client.get("/audit/", params)
    assert response.status_code == 200
    # force_login signs the client's user in, which the trail records too: leave that out.
    return [
        item.action for item in response.context["page"].object_list if item.action != "sign-in"
    ]


@pytest.fixture
def trail():
    old = event("certificate-uploaded", after={"thumbprint": "AA"})
    backdate(old, 10)
    event("certificate-replaced", before={"thumbprint": "AA"}, after={"thumbprint": "BB"})
    event("policy-changed", "orders-api", object_type="api", actor_name="bob")
    event("sign-in-failed", "mallory", object_type="user", actor_name="mallory")


def test_it_lists_every_event_newest_first(reviewer_client, trail):
    assert actions(reviewer_client) == [
        "sign-in-failed",
        "policy-changed",
        "certificate-replaced",
        "certificate-uploaded",
    ]


def test_it_filters_by_action_actor_object_and_dates(admin_client, trail):
    assert actions(admin_client, action="policy-changed") == ["policy-changed"]
    assert actions(admin_client, actor="BO") == ["policy-changed"]
    assert actions(admin_client, object_type="user") == ["sign-in-failed"]
    assert actions(admin_client, object_id="orders") == [
        "policy-changed",
        "certificate-replaced",
        "certificate-uploaded",
    ]
    today = timezone.now().date()
    assert actions(admin_client, until=(today - timedelta(days=5)).isoformat()) == [
        "certificate-uploaded"
    ]
    since = (today - timedelta(days=1)).isoformat()
    assert len(actions(admin_client, since=since, until=today.isoformat())) == 3


def test_the_page_shows_before_and_after(admin_client, trail):
    content = admin_client.get("/audit/", {"action": "certificate-replaced"}).content.decode()
    assert "<del>AA</del> → <ins>BB</ins>" in content


def test_bad_filters_are_ignored_with_a_message(admin_client, trail):
    response = admin_client.get(
        "/audit/", {"action": "no-such-action", "since": "yesterday", "page": "99"}
    )
    assert response.status_code == 200
    problems = " ".join(response.context["problems"])
    assert "Action:" in problems and "From:" in problems
    assert "There is no page 99; this is page 1 of 1." in problems
    assert response.context["page"].paginator.count == 5  # the four, and alice's sign-in
    today = timezone.now().date()
    response = admin_client.get(
        "/audit/", {"since": today.isoformat(), "until": (today - timedelta(days=3)).isoformat()}
    )
    assert "The end date is before the start date." in " ".join(response.context["problems"])
    assert admin_client.get("/audit/", {"until": "9999-12-31"}).status_code == 200


def test_htmx_gets_the_results_and_a_short_address(admin_client, trail):
    response = admin_client.get(
        "/audit/",
        {"action": "policy-changed", "actor": "", "since": ""},
        headers={"HX-Request": "true"},
    )
    assert response.content.decode().lstrip().startswith('<div id="results"')
    assert response["HX-Push-Url"] == "/audit/?action=policy-changed"


def test_the_export_is_a_formula_safe_csv_of_the_filtered_events(reviewer_client, trail):
    event("sign-in-failed", "=cmd|' /C calc'!A0", object_type="user", actor_name="@evil")
    response = reviewer_client.get("/audit/export.csv", {"action": "sign-in-failed"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["Who"] for row in rows] == ["'@evil", "mallory"]
    assert rows[0]["Object"] == "'=cmd|' /C calc'!A0"
    replaced = reviewer_client.get("/audit/export.csv", {"action": "certificate-replaced"})
    [row] = csv.DictReader(io.StringIO(b"".join(replaced.streaming_content).decode()))
    assert row["Changes"] == "thumbprint: AA → BB"
    assert row["Before"] == '{"thumbprint": "AA"}'
    assert reviewer_client.get("/audit/export.csv", {"since": "x"}).status_code == 400


def test_the_list_links_to_the_export_with_its_filters(admin_client, trail):
    content = admin_client.get("/audit/", {"actor": "bob"}).content.decode()
    assert 'href="/audit/export.csv?actor=bob"' in content


def test_nobody_changes_the_trail_from_the_portal(admin_client, trail):
    for method in (admin_client.post, admin_client.put, admin_client.delete):
        assert method("/audit/").status_code == 405
    assert admin_client.post("/audit/export.csv").status_code == 405
    some = AuditEvent.objects.first()
    for url in (
        f"/admin/audit/auditevent/{some.pk}/delete/",
        f"/admin/audit/auditevent/{some.pk}/change/",
    ):
        assert admin_client.post(url, {"post": "yes"}).status_code in (302, 403)
    assert AuditEvent.objects.filter(pk=some.pk).exists()


def test_the_model_refuses_changes_and_deletions(trail):
    some = AuditEvent.objects.first()
    some.message = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        some.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        some.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.update(message="gone")
    assert AuditEvent.objects.count() == 4


def test_deleting_a_user_keeps_their_events(administrator):
    record(None, "sign-in", object_type="user", object_id="alice", actor=administrator)
    administrator.delete()
    kept = AuditEvent.objects.get(action="sign-in")
    assert kept.actor is None
    assert kept.actor_name == "alice"
    assert not User.objects.filter(username="alice").exists()


def test_outsiders_see_no_trail(outsider_client):
    assert outsider_client.get("/audit/").status_code == 403
    assert outsider_client.get("/audit/export.csv").status_code == 403


def test_a_refused_change_by_a_reviewer_is_in_the_log(reviewer_client):
    reviewer_client.post("/certificates/+add/", {"name": "x"})
    assert actions(reviewer_client, action="change-refused") == ["change-refused"]


@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv"])
def test_queries_do_not_grow_with_the_trail(admin_client, url):
    def fill(count):
        for index in range(count):
            event("certificate-uploaded", f"c{index}", after={"n": index})

    def queries():
        with CaptureQueriesContext(connection) as context:
            response = admin_client.get(url, {"action": "certificate-uploaded"})
            if response.streaming:
                b"".join(response.streaming_content)
        return len(context.captured_queries)

    fill(5)
    admin_client.get("/")
    small = queries()
    fill(195)
    assert queries() == small


def test_the_log_pages_past_the_numbered_pages_and_counts_up_to_a_limit(admin_client, monkeypatch):
    """Keyset pages visit every event once, newest first, filters kept; the count stops."""
    import io
    import re
    from html import unescape

    from django.core.management import call_command

    from audit import views
    from audit.models import AuditEvent
    from lib import listing

    call_command(
        "seed_inventory",
        "--certificates",
        "3",
        "--apis",
        "0",
        "--audit-events",
        "140",
        stdout=io.StringIO(),
    )
    monkeypatch.setattr(listing, "NUMBERED_PAGES", 1)
    monkeypatch.setattr(views, "COUNT_LIMIT", 100)
    every = list(AuditEvent.objects.filter(object_type="certificate").values_list("pk", flat=True))
    seen, url, urls = [], "/audit/?object_type=certificate", []
    while url:
        urls.append(url)
        assert len(urls) < 10
        response = admin_client.get(url)
        assert response.status_code == 200
        seen += [event.pk for event in response.context["page"].object_list]
        found = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = "/audit/" + unescape(found[1]) if found else None
    assert seen == every
    assert any("after=" in url for url in urls[1:])
    assert all("object_type=certificate" in url for url in urls)
    everything = admin_client.get("/audit/").content.decode()
    assert "More than 100 events" in everything

"""Owner, contact and tags: edited by administrators on the certificate's page, audited."""

import pytest

from audit.models import AuditEvent
from certificates.models import Certificate
from tests.certificates.factories import fake_certificates

pytestmark = pytest.mark.django_db

URL = "/certificates/cert-0000/ownership/"


@pytest.fixture
def certificate():
    [certificate] = fake_certificates(1)
    return certificate


def test_an_administrator_sets_owner_contact_and_tags(admin_client, certificate):
    response = admin_client.post(
        URL, {"owner": "Payments", "contact": "pay@example.test", "tags": "Prod, pci  prod"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/certificates/cert-0000/"
    certificate.refresh_from_db()
    assert (certificate.owner, certificate.contact) == ("Payments", "pay@example.test")
    assert certificate.tags == ["prod", "pci"]
    event = AuditEvent.objects.get(action="certificate-ownership-changed")
    assert event.object_id == "cert-0000"
    assert event.actor_name == "alice"
    assert event.before == {"owner": "", "contact": "", "tags": []}
    assert event.after == {
        "owner": "Payments",
        "contact": "pay@example.test",
        "tags": ["prod", "pci"],
    }
    page = admin_client.get(response["Location"]).content.decode()
    assert "Owner, contact and tags saved." in page
    assert 'href="/certificates/?tag=pci"' in page


def test_saving_the_same_values_records_nothing(admin_client, certificate):
    admin_client.post(URL, {"owner": "A", "contact": "", "tags": "x"})
    admin_client.post(URL, {"owner": "A", "contact": "", "tags": "x"})
    assert AuditEvent.objects.filter(action="certificate-ownership-changed").count() == 1


def test_htmx_gets_the_panel_back(admin_client, certificate):
    response = admin_client.post(
        URL, {"owner": "Team A", "contact": "", "tags": ""}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="panel" id="ownership"')
    assert "Owner, contact and tags saved." in content
    assert "Team A" in content


def test_bad_tags_are_explained_and_nothing_is_saved(admin_client, certificate):
    response = admin_client.post(URL, {"owner": "A", "contact": "", "tags": "ok, not/ok!, =x"})
    assert response.status_code == 200
    errors = response.context["ownership_form"].errors["tags"]
    assert "Not a tag: not/ok!, =x." in errors[0]
    certificate.refresh_from_db()
    assert certificate.owner == ""
    too_many = " ".join(f"t{index}" for index in range(21))
    response = admin_client.post(URL, {"tags": too_many}, headers={"HX-Request": "true"})
    assert "At most 20 tags" in response.content.decode()
    response = admin_client.post(URL, {"owner": "bad\x00name"})
    assert response.context["ownership_form"].errors["owner"]


def test_a_reviewer_sees_the_facts_but_cannot_change_them(reviewer_client, certificate):
    Certificate.objects.filter(pk=certificate.pk).update(owner="Payments", tags=["prod"])
    page = reviewer_client.get("/certificates/cert-0000/").content.decode()
    assert "Payments" in page
    assert "Edit owner, contact and tags" not in page
    response = reviewer_client.post(URL, {"owner": "Mine", "contact": "", "tags": ""})
    assert response.status_code == 403
    certificate.refresh_from_db()
    assert certificate.owner == "Payments"
    refused = AuditEvent.objects.get(action="change-refused")
    assert refused.object_id == URL
    assert refused.actor_name == "rita"


def test_only_post_is_accepted_and_unknown_certificates_are_404(admin_client, certificate):
    assert admin_client.get(URL).status_code == 405
    assert admin_client.post("/certificates/nothing/ownership/", {"owner": "A"}).status_code == 404


def test_the_administrator_sees_the_form_with_current_values(admin_client, certificate):
    Certificate.objects.filter(pk=certificate.pk).update(tags=["a", "b"], contact="c@example.test")
    page = admin_client.get("/certificates/cert-0000/").content.decode()
    assert "Edit owner, contact and tags" in page
    assert 'value="a, b"' in page
    assert 'value="c@example.test"' in page

import io

import pytest
from django.core.management import CommandError, call_command

from apis.models import Api, Operation
from certificates.facts import certificate_thumbprint
from certificates.models import Certificate

pytestmark = pytest.mark.django_db


def test_it_seeds_distinct_valid_certificates_apis_and_usages():
    call_command(
        "seed_inventory",
        "--certificates",
        "30",
        "--apis",
        "12",
        "--operations-per-api",
        "2",
        stdout=io.StringIO(),
    )
    certificates = list(Certificate.objects.all())
    assert len(certificates) == 30
    assert len({certificate.thumbprint for certificate in certificates}) == 30
    for certificate in certificates[:5]:
        assert certificate.thumbprint == certificate_thumbprint(certificate.x509())
        assert certificate.private_key_der()  # encrypted under the key ring, decrypts
    assert Api.objects.count() == 12
    assert Operation.objects.count() == 24
    for api in Api.objects.exclude(client_certificate=None).select_related("client_certificate"):
        assert f'certificate-id="{api.client_certificate.name}"' in api.policy_xml
    used = Certificate.objects.with_usage_count().filter(usage_count__gt=0).count()
    assert (
        used
        == Api.objects.exclude(client_certificate=None)
        .values("client_certificate")
        .distinct()
        .count()
    )


def test_it_refuses_to_seed_the_same_prefix_twice():
    call_command("seed_inventory", "--certificates", "1", "--apis", "0", stdout=io.StringIO())
    with pytest.raises(CommandError, match="another --prefix"):
        call_command("seed_inventory", "--certificates", "1", "--apis", "0", stdout=io.StringIO())
    call_command(
        "seed_inventory",
        "--certificates",
        "1",
        "--apis",
        "0",
        "--prefix",
        "more",
        stdout=io.StringIO(),
    )
    assert Certificate.objects.count() == 2


def test_it_seeds_backends_and_audit_events_over_the_past_year():
    from django.utils import timezone

    from apis.models import BackendCertificate
    from audit.models import AuditEvent

    call_command(
        "seed_inventory",
        "--certificates",
        "20",
        "--apis",
        "4",
        "--backends",
        "6",
        "--audit-events",
        "300",
        stdout=io.StringIO(),
    )
    assert BackendCertificate.objects.count() == 3
    events = AuditEvent.objects.order_by("at")
    assert events.count() == 300
    first, last = events.first(), events.last()
    assert (last.at - first.at).days >= 360
    assert last.at <= timezone.now()
    assert {event.object_type for event in events} >= {"certificate", "api", "user"}
    changed = events.filter(action="certificate-ownership-changed").first()
    assert changed.changes()  # before and after are JSON the page can show
    issuers = {certificate.issuer for certificate in Certificate.objects.all()}
    assert len(issuers) > 2  # shared issuers, some self-signed

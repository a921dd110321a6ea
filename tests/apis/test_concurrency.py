"""Assigning a certificate while deleting it never leaves an API pointing at nothing."""

import threading

import pytest
from django.db import connection

from apis import actions
from apis.models import Api
from certificates.actions import CertificateInUse, delete_certificate, import_certificate
from certificates.models import Certificate
from tests import pki

ROUNDS = 8


@pytest.mark.django_db(transaction=True)
def test_assign_and_delete_race_leaves_a_consistent_state():
    apis = [
        actions.create_api(display_name=f"API {n}", service_url="https://127.0.0.1:1", path=f"p{n}")
        for n in range(3)
    ]
    leaf = pki.make_leaf(pki.make_ca(), "race.example.test")
    pfx = pki.make_pfx(leaf)
    outcomes = {
        "assigned": 0,
        "assign_refused": 0,
        "deleted": 0,
        "delete_blocked": 0,
        "failed": [],
    }
    lock = threading.Lock()

    def count(key):
        with lock:
            outcomes[key] += 1

    def failed(exc):
        with lock:
            outcomes["failed"].append(repr(exc))

    def assign(api):
        try:
            current = Api.objects.get(pk=api.pk)
            certificate = Certificate.objects.filter(name="race").first()
            if certificate is None:
                count("assign_refused")
                return
            actions.set_gateway_credentials(
                current,
                actions.GatewayCredentials(kind="certificate", certificate=certificate),
                version=None,
            )
            count("assigned")
        except actions.policy.PolicyError:
            count("assign_refused")
        except Exception as exc:  # a 500 for the person who clicked
            failed(exc)
        finally:
            connection.close()

    def delete():
        try:
            certificate = Certificate.objects.filter(name="race").first()
            if certificate is not None:
                delete_certificate(certificate)
                count("deleted")
        except CertificateInUse:
            count("delete_blocked")
        except Exception as exc:  # a 500 for the person who clicked
            failed(exc)
        finally:
            connection.close()

    for _ in range(ROUNDS):
        for api in Api.objects.all():
            actions.set_gateway_credentials(
                api, actions.GatewayCredentials(kind="none"), version=None
            )
        import_certificate("race", pfx, pki.DEFAULT_PASSWORD, replace=True)
        threads = [threading.Thread(target=assign, args=(api,)) for api in apis]
        threads += [threading.Thread(target=delete) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)

        certificate_exists = Certificate.objects.filter(name="race").exists()
        users = Api.objects.filter(client_certificate__isnull=False)
        # Every API that names a certificate names one that exists, in its policy too.
        for api in users.select_related("client_certificate"):
            assert certificate_exists
            assert 'certificate-id="race"' in api.policy_xml
        if not certificate_exists:
            assert not users.exists()
            for api in Api.objects.all():
                assert "authentication-certificate" not in api.policy_xml
    # Every attempt either happened or was refused with a message: none failed.
    assert outcomes["failed"] == []
    # The race was real: both sides won some rounds.
    assert outcomes["assigned"] > 0
    assert outcomes["deleted"] + outcomes["delete_blocked"] > 0

"""Replace a certificate everywhere it is used, in one transaction.

A client certificate is used by APIs (through their policy) and by backends (their gateway
credentials); a CA certificate is trusted by backends. Each change goes through the same action
as an edit by hand (save_policy, save_backend), so it is validated and audited the same way.
"""

from dataclasses import dataclass, field

from django.db import transaction

from apis import policy_editing
from apis.actions import save_backend, save_policy
from apis.models import Api, Backend
from certificates.models import CACertificate, Certificate


@dataclass
class Replacement:
    """What a replacement changed: the APIs and backends that moved from `old` to `new`."""

    old: Certificate | CACertificate
    new: Certificate | CACertificate
    apis: list[Api] = field(default_factory=list)
    backends: list[Backend] = field(default_factory=list)

    def changes(self) -> list[str]:
        """One line per object changed, for the page that reports it."""
        moved = f"{self.old.name} → {self.new.name}"
        return [f"API {api.display_name}: {moved}" for api in self.apis] + [
            f"Backend {backend.name}: {moved}" for backend in self.backends
        ]


def client_certificate_users(certificate: Certificate) -> tuple[list[Api], list[Backend]]:
    """The APIs and backends that present this client certificate."""
    apis = list(Api.objects.filter(client_certificate=certificate).order_by("display_name"))
    backends = list(Backend.objects.filter(client_certificates=certificate).order_by("name"))
    return apis, backends


def replace_client_certificate(old: Certificate, new: Certificate, *, request=None) -> Replacement:
    """Every API and backend that presents `old` presents `new` instead."""
    replacement = Replacement(old, new)
    with transaction.atomic():
        for api in Api.objects.select_for_update().filter(client_certificate=old):
            xml_text = policy_editing.set_gateway_credentials(
                api.policy_xml, certificate_id=new.name
            )
            replacement.apis.append(save_policy(api, xml_text, version=None, request=request))
        for backend in Backend.objects.select_for_update().filter(client_certificates=old):
            certificates = [c for c in backend.client_certificates.all() if c.pk != old.pk]
            save_backend(
                backend,
                ca_certificates=list(backend.ca_certificates.all()),
                client_certificates=[*certificates, new],
                request=request,
            )
            replacement.backends.append(backend)
    return replacement


def replace_ca_certificate(old: CACertificate, new: CACertificate, *, request=None) -> Replacement:
    """Every backend that trusts `old` trusts `new` instead."""
    replacement = Replacement(old, new)
    with transaction.atomic():
        for backend in Backend.objects.select_for_update().filter(ca_certificates=old):
            trusted = [ca for ca in backend.ca_certificates.all() if ca.pk != old.pk]
            save_backend(
                backend,
                ca_certificates=[*trusted, new],
                client_certificates=list(backend.client_certificates.all()),
                request=request,
            )
            replacement.backends.append(backend)
    return replacement

"""What a call to an API really does: the one answer the gateway acts on and every page shows.

An API's own gateway credentials (from its policy) come first. A Basic login is sent as the
policy says; a client certificate is the API's own when its policy names one, else the one of
the backend that serves the API (named in the policy, else the backend whose URL is the longest
leading part of the web service URL). That backend also says how the back end's certificate is
verified; without a backend the chain must lead to a system-trusted CA and the host name must
match.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.db.models import Prefetch
from django.urls import reverse

from apis.models import Api, Backend, BackendCACertificate, BackendCertificate, backend_of
from certificates.models import CACertificate, Certificate


@dataclass(frozen=True)
class EffectiveSettings:
    backend: Backend | None
    certificate: Certificate | None
    certificate_from_backend: bool
    basic_username: str
    validate_chain: bool
    validate_name: bool
    ca_certificates: tuple[CACertificate, ...]

    @property
    def sends_nothing(self) -> bool:
        return self.certificate is None and not self.basic_username

    def credentials_text(self) -> str:
        """The gateway credentials in words, e.g. "Client cert orders-client (from backend
        billing)", for lists, exports and messages."""
        parts = []
        if self.certificate is not None:
            source = f" (from backend {self.backend.name})" if self.certificate_from_backend else ""
            parts.append(f"Client cert {self.certificate.name}{source}")
        if self.basic_username:
            parts.append(f"Basic as {self.basic_username}")
        return " + ".join(parts) or "None"

    def validation_text(self) -> str:
        chain = "on" if self.validate_chain else "off"
        name = "on" if self.validate_name else "off"
        trust = (
            "trusting only " + ", ".join(ca.name for ca in self.ca_certificates)
            if self.ca_certificates
            else "trusting the system's CAs"
        )
        if not self.validate_chain:
            trust = "any issuer accepted"
        return f"certificate chain validation {chain} ({trust}), name validation {name}"


def _backends() -> list[Backend]:
    return list(
        Backend.objects.prefetch_related(
            Prefetch(
                "backendcertificate_set",
                queryset=BackendCertificate.objects.select_related("certificate").order_by("pk"),
                to_attr="credential_links",
            ),
            Prefetch(
                "backendcacertificate_set",
                queryset=BackendCACertificate.objects.select_related("ca_certificate").order_by(
                    "ca_certificate_id"
                ),
                to_attr="trust_links",
            ),
        )
    )


def _settings(api: Api, backend: Backend | None) -> EffectiveSettings:
    certificate, from_backend = api.client_certificate, False
    if certificate is None and backend is not None and backend.credential_links:
        certificate, from_backend = backend.credential_links[0].certificate, True
    if backend is None:
        return EffectiveSettings(None, certificate, False, api.basic_username, True, True, ())
    return EffectiveSettings(
        backend=backend,
        certificate=certificate,
        certificate_from_backend=from_backend,
        basic_username=api.basic_username,
        validate_chain=backend.validate_certificate_chain,
        validate_name=backend.validate_certificate_name,
        ca_certificates=tuple(link.ca_certificate for link in backend.trust_links),
    )


def effective_settings_for(apis: Iterable[Api]) -> dict[int, EffectiveSettings]:
    """Each API's effective settings by its key, in a constant number of queries (the APIs
    come with their client certificate: select_related("client_certificate"))."""
    backends = _backends()
    return {api.pk: _settings(api, backend_of(api, backends)) for api in apis}


def effective_settings(api: Api) -> EffectiveSettings:
    return effective_settings_for([api])[api.pk]


def attach_effective_settings(apis: Iterable[Api]) -> list[Api]:
    """The APIs, each with `.effective` set: for templates that list APIs."""
    apis = list(apis)
    found = effective_settings_for(apis)
    for api in apis:
        api.effective = found[api.pk]
    return apis


def validation_path(api: Api, backend_name: str) -> str:
    """Where an administrator changes how the back end's certificate is checked: the backend's
    edit page, or a new backend with the API's back-end address filled in."""
    if backend_name:
        return reverse("backends:edit", args=[backend_name])
    origin = urlsplit(api.service_url)
    return reverse("backends:add") + "?" + urlencode({"url": f"{origin.scheme}://{origin.netloc}"})

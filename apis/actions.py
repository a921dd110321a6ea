"""Changes to APIs, shared by the pages, the commands and the REST API.

The policy document is the one source of truth for an API's gateway credentials; the Backend
form edits it too. Every save parses the policy, resolves the certificate it names and stores
both in one transaction, so the dropdown and the policy can never drift apart.
"""

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apis import policy, policy_editing
from apis.models import BASIC_PASSWORD_PLACEHOLDER, Api, Backend, CredentialsKind, Operation
from audit.models import Action
from audit.trail import record
from certificates.models import CACertificate, Certificate


class StaleChange(Exception):
    def __init__(self):
        super().__init__(
            "Somebody else changed this API after you opened it. Reload the page to see "
            "their change, then make yours again."
        )


@dataclass(frozen=True)
class GatewayCredentials:
    kind: CredentialsKind
    certificate: Certificate | None = None
    username: str = ""
    password: str | None = None  # None keeps the stored password


def credentials_summary(api: Api) -> dict:
    """The audit trail's picture of an API's gateway credentials; never the password."""
    return {
        "gatewayCredentials": api.gateway_credentials.label,
        "certificateId": api.client_certificate.name if api.client_certificate_id else None,
        "basicUsername": api.basic_username or None,
    }


def unique_id(display_name: str, taken, fallback: str) -> str:
    """An Id made from a display name, like the gateway's: 'Orders API' -> 'orders-api'."""
    base = (slugify(display_name) or fallback)[:70]
    candidate, number = base, 1
    while taken.filter(name=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


class BackendInUse(Exception):
    def __init__(self, backend: Backend, apis):
        self.backend = backend
        self.apis = apis
        names = ", ".join(str(api) for api in apis)
        super().__init__(
            f"The backend {backend.name} is named in the policy of {names}. Remove it from "
            "their policies before deleting it."
        )


def create_api(
    *, display_name, service_url, path, description="", name=None, protocols=None, request=None
) -> Api:
    """Create an API; its Id is made from the display name unless `name` gives one."""
    with transaction.atomic():
        api = Api.objects.create(
            name=name or unique_id(display_name, Api.objects, "api"),
            display_name=display_name,
            service_url=service_url,
            path=path,
            protocols=protocols or ["https"],
            description=description,
        )
        record(
            request,
            Action.API_CREATED,
            object_type="api",
            object_id=api.name,
            after=_api_summary(api),
        )
    return api


def update_api(
    api: Api,
    *,
    display_name,
    service_url,
    path,
    description="",
    protocols=None,
    version: int | None,
    request=None,
) -> Api:
    """Change an API's settings (not its policy). Raises StaleChange."""
    with transaction.atomic():
        current = Api.objects.select_for_update().get(pk=api.pk)
        if version is not None and current.version != version:
            raise StaleChange()
        before = _api_summary(current)
        current.display_name = display_name
        current.service_url = service_url
        current.path = path
        current.description = description
        current.protocols = protocols or ["https"]
        current.version += 1
        current.save()
        record(
            request,
            Action.API_CHANGED,
            object_type="api",
            object_id=current.name,
            before=before,
            after=_api_summary(current),
        )
    return current


def _api_summary(api: Api) -> dict:
    return {
        "displayName": api.display_name,
        "path": api.path,
        "serviceUrl": api.service_url,
        "protocols": api.protocols,
    }


def _line_of(xml_text: str, tag: str) -> int | None:
    match = re.search(rf"<{re.escape(tag)}\b", xml_text)
    return xml_text.count("\n", 0, match.start()) + 1 if match else None


def _resolve_certificate(xml_text: str, reference) -> Certificate:
    lookup = (
        {"name": reference.certificate_id}
        if reference.certificate_id
        else {"thumbprint": reference.thumbprint}
    )
    # Locking the row makes a concurrent delete wait for this transaction (or fail after it).
    certificate = Certificate.objects.select_for_update().filter(**lookup).first()
    if certificate is None:
        what = (
            f"Id {reference.certificate_id}"
            if reference.certificate_id
            else f"thumbprint {reference.thumbprint}"
        )
        raise policy.PolicyError(
            f"No client certificate with the {what} exists. Upload it under Client "
            "certificates first, or pick one that exists.",
            _line_of(xml_text, policy.CERTIFICATE_TAG),
        )
    return certificate


def save_policy(api: Api, xml_text: str, *, version: int | None, request=None) -> Api:
    """Validate and store a policy document, updating the API's gateway credentials with it.

    Raises PolicyError (with a line number where it has one) or StaleChange. A Basic password
    typed into the policy is moved out of it into encrypted storage.
    """
    parsed = policy.parse(xml_text)
    new_password = None
    if parsed.basic and parsed.basic.password != BASIC_PASSWORD_PLACEHOLDER:
        new_password = parsed.basic.password
        xml_text = policy_editing.set_gateway_credentials(
            xml_text,
            basic=policy.BasicCredentials(parsed.basic.username, BASIC_PASSWORD_PLACEHOLDER),
        )
    try:
        with transaction.atomic():
            current = Api.objects.select_for_update(of=("self",)).select_related(
                "client_certificate"
            )
            current = current.get(pk=api.pk)
            if version is not None and current.version != version:
                raise StaleChange()
            before = credentials_summary(current)
            certificate = (
                _resolve_certificate(xml_text, parsed.certificate) if parsed.certificate else None
            )
            if parsed.backend_id and not Backend.objects.filter(name=parsed.backend_id).exists():
                raise policy.PolicyError(
                    f"No backend with the Id {parsed.backend_id} exists. Create it under "
                    "Backends first.",
                    _line_of(xml_text, policy.BACKEND_TAG),
                )
            current.policy_xml = xml_text
            current.backend_name = parsed.backend_id or ""
            current.client_certificate = certificate
            current.basic_username = parsed.basic.username if parsed.basic else ""
            if not parsed.basic:
                current.basic_password_encrypted = ""
            elif new_password is not None:
                current.set_basic_password(new_password)
            current.version += 1
            current.save()
            after = credentials_summary(current)
            record(
                request,
                Action.POLICY_CHANGED,
                object_type="api",
                object_id=current.name,
                before=before,
                after=after,
                # The changes are read from before and after; say so when there are none.
                message="The policy changed; the gateway credentials did not."
                if before == after
                else "",
            )
    except IntegrityError:
        raise policy.PolicyError(
            "The certificate was deleted while this change was being saved. Pick another one."
        ) from None
    return current


def set_gateway_credentials(
    api: Api, credentials: GatewayCredentials, *, version: int | None, request=None
) -> Api:
    """The Backend form's change: rewrite the policy's authentication element, then save it."""
    basic = None
    if credentials.kind == CredentialsKind.BASIC:
        password = credentials.password
        if password is None:
            password = BASIC_PASSWORD_PLACEHOLDER
        basic = policy.BasicCredentials(credentials.username, password)
    certificate_id = (
        credentials.certificate.name if credentials.kind == CredentialsKind.CERTIFICATE else None
    )
    xml_text = policy_editing.set_gateway_credentials(
        api.policy_xml, certificate_id=certificate_id, basic=basic
    )
    return save_policy(api, xml_text, version=version, request=request)


def delete_api(api: Api, *, request=None) -> None:
    with transaction.atomic():
        api.delete()
        record(
            request,
            Action.API_DELETED,
            object_type="api",
            object_id=api.name,
            before=_api_summary(api),
        )


def save_operation(operation: Operation, *, created: bool, request=None) -> Operation:
    with transaction.atomic():
        operation.save()
        record(
            request,
            Action.OPERATION_CREATED if created else Action.OPERATION_CHANGED,
            object_type="operation",
            object_id=f"{operation.api.name}/{operation.name}",
            after={"method": operation.method, "urlTemplate": operation.url_template},
        )
    return operation


def delete_operation(operation: Operation, *, request=None) -> None:
    with transaction.atomic():
        operation.delete()
        record(
            request,
            Action.OPERATION_DELETED,
            object_type="operation",
            object_id=f"{operation.api.name}/{operation.name}",
            before={"method": operation.method, "urlTemplate": operation.url_template},
        )


def backend_summary(backend: Backend) -> dict:
    return {
        "url": backend.url,
        "validateCertificateChain": backend.validate_certificate_chain,
        "validateCertificateName": backend.validate_certificate_name,
        "caCertificateIds": sorted(backend.ca_certificates.values_list("name", flat=True)),
        "certificateIds": sorted(backend.client_certificates.values_list("name", flat=True)),
    }


def save_backend(
    backend: Backend,
    *,
    ca_certificates,
    client_certificates,
    version: int | None = None,
    request=None,
    actor_name: str = "",
) -> Backend:
    """Create or update a backend with its trusted CAs and client certificates, audited.

    Raises StaleChange when `version` is given and somebody saved the backend meanwhile, and
    PolicyError when a certificate was deleted while this change was being saved.
    """
    created = backend.pk is None
    try:
        with transaction.atomic():
            before = None
            if not created:
                current = Backend.objects.select_for_update().get(pk=backend.pk)
                if version is not None and current.version != version:
                    raise StaleChange()
                before = backend_summary(current)
                backend.version = current.version + 1
            # Lock what the backend will reference, so a concurrent delete waits for us.
            ca_certificates = list(
                CACertificate.objects.select_for_update().filter(
                    pk__in=[ca.pk for ca in ca_certificates]
                )
            )
            client_certificates = list(
                Certificate.objects.select_for_update().filter(
                    pk__in=[certificate.pk for certificate in client_certificates]
                )
            )
            backend.save()
            backend.ca_certificates.set(ca_certificates)
            backend.client_certificates.set(client_certificates)
            record(
                request,
                Action.BACKEND_CREATED if created else Action.BACKEND_CHANGED,
                object_type="backend",
                object_id=backend.name,
                before=before,
                after=backend_summary(backend),
                actor_name=actor_name,
            )
    except IntegrityError:
        raise policy.PolicyError(
            "A certificate was deleted while this change was being saved. Choose again."
        ) from None
    return backend


def delete_backend(backend: Backend, *, request=None) -> None:
    """Delete a backend; raise BackendInUse while an API's policy names it."""
    with transaction.atomic():
        naming = list(Api.objects.filter(backend_name=backend.name))
        if naming:
            raise BackendInUse(backend, naming)
        before = backend_summary(backend)
        backend.delete()
        record(
            request,
            Action.BACKEND_DELETED,
            object_type="backend",
            object_id=backend.name,
            before=before,
        )

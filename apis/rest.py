"""The REST API's backends, APIs, operations and policies (see certificates/rest.py).

Each entity's writable properties are declared once below. Input then goes through the pages'
own forms and writes through apis.actions, so the API and the pages obey the same rules and
leave the same audit trail.
"""

import re

from django.db import IntegrityError

from apis import actions, policy
from apis.forms import ApiForm, BackendForm, OperationForm
from apis.models import Api, Backend, Operation
from apis.rest_models import (
    POLICY_EXAMPLE,
    ApiProperties,
    BackendCredentials,
    BackendProperties,
    BackendTls,
    OperationProperties,
    PolicyProperties,
)
from certificates.models import CACertificate, Certificate
from certificates.rest import EntityResource
from lib.rest import RestError, detail, invalid, reference_name
from lib.rest_dispatch import permissions_of


def _form_problem(form, targets: dict[str, str]) -> RestError:
    details = [
        detail(error["code"] or "Invalid", targets.get(field, "properties"), error["message"])
        for field, errors in form.errors.get_json_data().items()
        for error in errors
    ]
    first = details[0]
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return RestError(
        400, "ValidationError", f"{first['target']}: {first['message']}{more}", details
    )


def _stale() -> RestError:
    return RestError(
        412,
        "PreconditionFailed",
        "Somebody else changed this entity meanwhile. GET it again and retry your change.",
    )


def _conflict(message: str, target: str = "name") -> RestError:
    return RestError(409, "Conflict", message, [detail("Conflict", target, message)])


def _find(model, names: list[str], target: str, what: str, field: str = "name") -> list:
    found = {getattr(item, field): item for item in model.objects.filter(**{f"{field}__in": names})}
    missing = [name for name in names if name not in found]
    if missing:
        raise invalid(target, f"No {what} with the Id {', '.join(missing)}.", "NotFound")
    return list(dict.fromkeys(found[name] for name in names))


# A policy may name a certificate or backend by its full resource id, as ARM clients write them.
RESOURCE_ID_ATTRIBUTE = re.compile(
    r"""\b(certificate-id|backend-id)(\s*=\s*)(["'])/subscriptions/[^"'<>]*?"""
    r"""/(?:certificates|backends)/([^"'/<>]+)\3""",
    re.IGNORECASE,
)


def bare_ids(document: str) -> str:
    """The policy document with resource ids in certificate-id and backend-id made bare Ids."""
    return RESOURCE_ID_ATTRIBUTE.sub(r"\1\2\3\4\3", document)


class ApiResource(EntityResource):
    type = "apis"
    model = Api
    methods = ("GET", "HEAD", "PUT", "PATCH", "DELETE")
    write_model = ApiProperties
    component, parameter, title = "Api", "apiId", "APIs"
    about = "APIs published through the gateway."
    example = {
        "displayName": "Orders API",
        "path": "orders",
        "serviceUrl": "https://orders.internal:8443/v1",
        "protocols": ["https"],
        "description": "",
    }
    id_example = "orders"
    filters = {
        "name": "name",
        "properties/displayName": "display_name",
        "properties/path": "path",
        "properties/serviceUrl": "service_url",
    }
    permissions = permissions_of(Api)

    def properties(self, obj, route) -> dict:
        return {
            "displayName": obj.display_name,
            "path": obj.path,
            "serviceUrl": obj.service_url,
            "protocols": obj.protocols,
            "description": obj.description,
        }

    def put(self, request, parent, name, properties, existing, route):
        protocols = properties.protocols or ["https"]
        form = ApiForm(
            {
                "display_name": properties.display_name,
                "service_url": properties.service_url,
                "path": properties.path,
                "description": properties.description or "",
            },
            instance=existing or Api(name=name),
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "display_name": "properties.displayName",
                    "service_url": "properties.serviceUrl",
                    "path": "properties.path",
                    "description": "properties.description",
                },
            )
        fields = {**form.cleaned_data, "protocols": sorted(set(protocols))}
        try:
            if existing is None:
                return actions.create_api(**fields, name=name, request=request)
            return actions.update_api(existing, **fields, version=None, request=request)
        except IntegrityError:
            raise _conflict(
                "Another API took this Id or URL suffix at the same moment.", "properties.path"
            ) from None

    def delete(self, request, obj):
        actions.delete_api(obj, request=request)


class OperationResource(EntityResource):
    type = "operations"
    model = Operation
    methods = ("GET", "HEAD", "PUT", "PATCH", "DELETE")
    write_model = OperationProperties
    component, parameter, title = "Operation", "operationId", "Operations"
    about = "An API's operations: a method and a URL template."
    example = {"displayName": "Get order", "method": "GET", "urlTemplate": "/orders/{orderId}"}
    id_example = "get-order"
    filters = {
        "name": "name",
        "properties/method": "method",
        "properties/urlTemplate": "url_template",
    }
    permissions = permissions_of(Api, writes_as="change")

    def __init__(self, parent: EntityResource):
        self.parent = parent

    def queryset(self, parent):
        return parent.operations.all()

    def properties(self, obj, route) -> dict:
        return {
            "displayName": obj.display_name,
            "method": obj.method,
            "urlTemplate": obj.url_template,
            "description": obj.description,
        }

    def put(self, request, parent, name, properties, existing, route):
        instance = existing or Operation(api=parent, name=name)
        form = OperationForm(
            {
                "display_name": properties.display_name,
                "method": properties.method.upper(),
                "url_template": properties.url_template,
                "description": properties.description or "",
            },
            instance=instance,
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "display_name": "properties.displayName",
                    "method": "properties.method",
                    "url_template": "properties.urlTemplate",
                    "description": "properties.description",
                },
            )
        clash = parent.operations.filter(
            method=instance.method, url_template=instance.url_template
        ).exclude(pk=instance.pk)
        if other := clash.first():
            raise _conflict(
                f"This API already has an operation for {instance}: {other.name}.",
                "properties.urlTemplate",
            )
        try:
            return actions.save_operation(instance, created=existing is None, request=request)
        except IntegrityError:
            raise _conflict("Another change to this API's operations came first.") from None

    def delete(self, request, obj):
        actions.delete_operation(obj, request=request)


class PolicyResource(EntityResource):
    """An API's policy document: one entity named 'policy', read and replaced whole.

    An API always has it: never set, it is the default document; DELETE brings that back.
    """

    type = "policies"
    model = Api
    noun = "policy"
    write_model = PolicyProperties
    filters = {}
    component, parameter, title = "Policy", "policyId", "Policies"
    about = (
        "An API's policy document (one per API, named 'policy'). Saving it sets the API's "
        'gateway credentials, such as <authentication-certificate certificate-id="..." />. '
        "DELETE brings back the default document."
    )
    example = {"format": "xml", "value": POLICY_EXAMPLE}
    id_example = "policy"
    name_schema = {"type": "string", "enum": ["policy"]}
    permissions = permissions_of(Api, writes_as="change")

    def __init__(self, parent: EntityResource):
        self.parent = parent

    def check_name(self, name):
        if name != "policy":
            raise RestError(404, "ResourceNotFound", "An API has one policy, named 'policy'.")

    def queryset(self, parent):
        return Api.objects.filter(pk=parent.pk)

    def lookup(self, parent, name, *, for_update=False):
        # The policy lives on its API's row, which the dispatcher has read already.
        return self.queryset(parent).select_for_update().first() if for_update else parent

    def is_set(self, obj) -> bool:
        return obj.policy_xml.strip() != policy.DEFAULT_POLICY.strip()

    def name_of(self, obj) -> str:
        return "policy"

    def properties(self, obj, route) -> dict:
        return {"format": "xml", "value": obj.policy_xml}

    def delete(self, request, obj) -> None:
        if self.is_set(obj):
            self._save(request, obj, policy.DEFAULT_POLICY)

    def put(self, request, parent, name, properties, existing, route):
        return self._save(request, existing, bare_ids(properties.value))

    def _save(self, request, api, value):
        try:
            return actions.save_policy(api, value, version=None, request=request)
        except policy.PolicyError as exc:
            line = {"line": exc.line} if getattr(exc, "line", None) else {}
            raise RestError(
                400,
                "InvalidPolicy",
                str(exc),
                [detail("InvalidPolicy", "properties.value", str(exc), **line)],
            ) from None
        except actions.StaleChange:
            raise _stale() from None


class BackendResource(EntityResource):
    type = "backends"
    model = Backend
    methods = ("GET", "HEAD", "PUT", "PATCH", "DELETE")
    write_model = BackendProperties
    component, parameter, title = "Backend", "backendId", "Backends"
    about = (
        "Back end services: how the gateway verifies them and which client certificate it "
        "presents to them."
    )
    example = {
        "url": "https://orders.internal:8443",
        "protocol": "http",
        "description": "Orders service",
        "tls": {
            "validateCertificateChain": True,
            "validateCertificateName": True,
            "caCertificateIds": ["internal-root"],
        },
        "credentials": {"certificateIds": ["orders-client"]},
    }
    id_example = "orders-backend"
    filters = {"name": "name", "properties/url": "url"}
    permissions = permissions_of(Backend)

    def queryset(self, parent):
        return Backend.objects.prefetch_related("ca_certificates", "client_certificates")

    def properties(self, obj, route) -> dict:
        certificates = sorted(obj.client_certificates.all(), key=lambda c: c.name)
        ca_names = sorted(ca.name for ca in obj.ca_certificates.all())
        return {
            "url": obj.url,
            "protocol": obj.protocol,
            "description": obj.description,
            "tls": {
                "validateCertificateChain": obj.validate_certificate_chain,
                "validateCertificateName": obj.validate_certificate_name,
                "caCertificateIds": [route.reference("caCertificates", n) for n in ca_names],
            },
            "credentials": {
                "certificateIds": [route.reference("certificates", c.name) for c in certificates],
                "certificate": [certificate.thumbprint for certificate in certificates],
            },
        }

    def _client_certificates(self, credentials: BackendCredentials) -> list:
        target = "properties.credentials"
        if credentials.certificate_ids is not None:
            names = [reference_name(name, "certificates") for name in credentials.certificate_ids]
            return _find(Certificate, names, f"{target}.certificateIds", "client certificate")
        # The reference's older contract names certificates by thumbprint.
        thumbprints = [t.upper() for t in credentials.certificate or []]
        return _find(
            Certificate, thumbprints, f"{target}.certificate", "client certificate", "thumbprint"
        )

    def put(self, request, parent, name, properties, existing, route):
        tls = properties.tls or BackendTls()
        credentials = properties.credentials or BackendCredentials()
        ca_names = [reference_name(n, "caCertificates") for n in tls.ca_certificate_ids or []]
        ca_target = "properties.tls.caCertificateIds"
        ca_certificates = _find(CACertificate, ca_names, ca_target, "CA certificate")
        client_certificates = self._client_certificates(credentials)
        chain, host = tls.validate_certificate_chain, tls.validate_certificate_name
        form = BackendForm(
            {
                "name": name,
                "url": properties.url,
                "protocol": properties.protocol or "http",
                "description": properties.description or "",
                "validate_certificate_chain": True if chain is None else chain,
                "validate_certificate_name": True if host is None else host,
                "ca_certificates": [ca.pk for ca in ca_certificates],
            },
            instance=existing or Backend(),
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "name": "name",
                    "url": "properties.url",
                    "protocol": "properties.protocol",
                    "description": "properties.description",
                    "validate_certificate_chain": "properties.tls.validateCertificateChain",
                    "validate_certificate_name": "properties.tls.validateCertificateName",
                    "ca_certificates": ca_target,
                },
            )
        try:
            return actions.save_backend(
                form.save(commit=False),
                ca_certificates=ca_certificates,
                client_certificates=client_certificates,
                version=None,
                request=request,
            )
        except (policy.PolicyError, IntegrityError) as exc:
            raise _conflict(str(exc)) from None
        except actions.StaleChange:
            raise _stale() from None

    def delete(self, request, obj):
        try:
            actions.delete_backend(obj, request=request)
        except actions.BackendInUse as exc:
            raise RestError(
                409,
                "BackendInUse",
                str(exc),
                [detail("UsedBy", f"/apis/{api.name}", f"Used by {api}.") for api in exc.apis],
            ) from None


APIS = ApiResource()
OPERATIONS = OperationResource(APIS)
POLICIES = PolicyResource(APIS)
BACKENDS = BackendResource()

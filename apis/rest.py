"""The REST API's backends, APIs, operations and policies (see certificates/rest.py).

Input goes through the pages' own forms and writes through apis.actions, so the API and the
pages obey the same rules and leave the same audit trail.
"""

from django.db import IntegrityError

from apis import actions, policy
from apis.forms import ApiForm, BackendForm, OperationForm
from apis.models import Api, Backend, Operation
from certificates.models import CACertificate, Certificate
from certificates.rest import Properties, Resource, RestError, detail, invalid, reference_name

PROTOCOLS = ("http", "https")
POLICY_FORMATS = ("xml", "rawxml")


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


class ApiResource(Resource):
    type = "apis"
    model = Api
    permissions = {
        "view": "apis.view_api",
        "add": "apis.add_api",
        "change": "apis.change_api",
        "delete": "apis.delete_api",
    }

    def properties(self, obj) -> dict:
        return {
            "displayName": obj.display_name,
            "path": obj.path,
            "serviceUrl": obj.service_url,
            "protocols": obj.protocols,
            "description": obj.description,
        }

    def put(self, request, parent, name, properties, existing):
        protocols = properties.texts("protocols") or ["https"]
        if not set(protocols) <= set(PROTOCOLS):
            raise invalid(
                properties.target("protocols"), "Protocols are 'http' and 'https'.", "Invalid"
            )
        form = ApiForm(
            {
                "display_name": properties.text("displayName", required=True),
                "service_url": properties.text("serviceUrl", required=True),
                "path": properties.text("path", required=True),
                "description": properties.text("description"),
            },
            instance=existing or Api(name=name),
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "display_name": properties.target("displayName"),
                    "service_url": properties.target("serviceUrl"),
                    "path": properties.target("path"),
                    "description": properties.target("description"),
                },
            )
        fields = {**form.cleaned_data, "protocols": sorted(set(protocols))}
        try:
            if existing is None:
                return actions.create_api(**fields, name=name, request=request)
            return actions.update_api(existing, **fields, version=None, request=request)
        except IntegrityError:
            raise _conflict(
                "Another API took this Id or URL suffix at the same moment.",
                properties.target("path"),
            ) from None

    def delete(self, request, obj):
        actions.delete_api(obj, request=request)


class OperationResource(Resource):
    type = "operations"
    model = Operation
    permissions = {
        "view": "apis.view_api",
        "add": "apis.change_api",
        "change": "apis.change_api",
        "delete": "apis.change_api",
    }

    def __init__(self, parent: Resource):
        self.parent = parent

    def queryset(self, parent):
        return parent.operations.all()

    def properties(self, obj) -> dict:
        return {
            "displayName": obj.display_name,
            "method": obj.method,
            "urlTemplate": obj.url_template,
            "description": obj.description,
        }

    def put(self, request, parent, name, properties, existing):
        instance = existing or Operation(api=parent, name=name)
        form = OperationForm(
            {
                "display_name": properties.text("displayName", required=True),
                "method": properties.text("method", required=True).upper(),
                "url_template": properties.text("urlTemplate", required=True),
                "description": properties.text("description"),
            },
            instance=instance,
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "display_name": properties.target("displayName"),
                    "method": properties.target("method"),
                    "url_template": properties.target("urlTemplate"),
                    "description": properties.target("description"),
                },
            )
        clash = parent.operations.filter(
            method=instance.method, url_template=instance.url_template
        ).exclude(pk=instance.pk)
        if clash.exists():
            raise _conflict(
                f"This API already has an operation for {instance}: {clash.first().name}.",
                properties.target("urlTemplate"),
            )
        try:
            return actions.save_operation(instance, created=existing is None, request=request)
        except IntegrityError:
            raise _conflict("Another change to this API's operations came first.") from None

    def delete(self, request, obj):
        actions.delete_operation(obj, request=request)


class PolicyResource(Resource):
    """An API's policy document: one entity named 'policy', read and replaced whole."""

    type = "policies"
    model = Api
    noun = "policy"
    methods = ("GET", "PUT")
    permissions = {
        "view": "apis.view_api",
        "add": "apis.change_api",
        "change": "apis.change_api",
    }

    def __init__(self, parent: Resource):
        self.parent = parent

    def check_name(self, name):
        if name != "policy":
            raise RestError(404, "ResourceNotFound", "An API has one policy, named 'policy'.")

    def queryset(self, parent):
        return Api.objects.filter(pk=parent.pk)

    def lookup(self, parent, name, *, for_update=False):
        queryset = self.queryset(parent)
        return (queryset.select_for_update() if for_update else queryset).first()

    def name_of(self, obj) -> str:
        return "policy"

    def properties(self, obj) -> dict:
        return {"format": "xml", "value": obj.policy_xml}

    def put(self, request, parent, name, properties, existing):
        target = properties.target("format")
        if properties.text("format", default="xml") not in POLICY_FORMATS:
            raise invalid(target, "The policy's format must be 'xml' (or 'rawxml').", "Invalid")
        value = properties.text("value", required=True)
        try:
            return actions.save_policy(existing, value, version=None, request=request)
        except policy.PolicyError as exc:
            line = {"line": exc.line} if getattr(exc, "line", None) else {}
            raise RestError(
                400,
                "InvalidPolicy",
                str(exc),
                [detail("InvalidPolicy", properties.target("value"), str(exc), **line)],
            ) from None
        except actions.StaleChange:
            raise _stale() from None


class BackendResource(Resource):
    type = "backends"
    model = Backend
    permissions = {
        "view": "apis.view_backend",
        "add": "apis.add_backend",
        "change": "apis.change_backend",
        "delete": "apis.delete_backend",
    }

    def queryset(self, parent):
        return Backend.objects.prefetch_related("ca_certificates", "client_certificates")

    def properties(self, obj) -> dict:
        certificates = sorted(obj.client_certificates.all(), key=lambda c: c.name)
        return {
            "url": obj.url,
            "protocol": obj.protocol,
            "description": obj.description,
            "tls": {
                "validateCertificateChain": obj.validate_certificate_chain,
                "validateCertificateName": obj.validate_certificate_name,
                "caCertificateIds": sorted(ca.name for ca in obj.ca_certificates.all()),
            },
            "credentials": {
                "certificateIds": [certificate.name for certificate in certificates],
                "certificate": [certificate.thumbprint for certificate in certificates],
            },
        }

    def _client_certificates(self, credentials: Properties) -> list:
        names = credentials.texts("certificateIds")
        if names is not None:
            names = [reference_name(name, "certificates") for name in names]
            target = credentials.target("certificateIds")
            return _find(Certificate, names, target, "client certificate")
        # The reference's older contract names certificates by thumbprint.
        thumbprints = [t.upper() for t in credentials.texts("certificate") or []]
        return _find(
            Certificate,
            thumbprints,
            credentials.target("certificate"),
            "client certificate",
            field="thumbprint",
        )

    def put(self, request, parent, name, properties, existing):
        tls = properties.section("tls")
        credentials = properties.section("credentials")
        ca_names = [
            reference_name(n, "caCertificates") for n in tls.texts("caCertificateIds") or []
        ]
        ca_certificates = _find(
            CACertificate, ca_names, tls.target("caCertificateIds"), "CA certificate"
        )
        client_certificates = self._client_certificates(credentials)
        form = BackendForm(
            {
                "name": name,
                "url": properties.text("url", required=True),
                "protocol": properties.text("protocol", default="http"),
                "description": properties.text("description"),
                "validate_certificate_chain": tls.flag("validateCertificateChain", default=True),
                "validate_certificate_name": tls.flag("validateCertificateName", default=True),
                "ca_certificates": [ca.pk for ca in ca_certificates],
            },
            instance=existing or Backend(),
        )
        if not form.is_valid():
            raise _form_problem(
                form,
                {
                    "name": "name",
                    "url": properties.target("url"),
                    "protocol": properties.target("protocol"),
                    "description": properties.target("description"),
                    "validate_certificate_chain": tls.target("validateCertificateChain"),
                    "validate_certificate_name": tls.target("validateCertificateName"),
                    "ca_certificates": tls.target("caCertificateIds"),
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

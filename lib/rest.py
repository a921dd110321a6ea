"""REST machinery shared by every entity and both route shapes (no app of ours is imported here).

An entity is `{"id", "type", "name", "properties"}`. A `Resource` (in its app: certificates/rest.py,
apis/rest.py) says how one kind of entity is found, shown, written and deleted; `Dispatcher`
(lib/rest_dispatch.py) turns resources into answers. A `Route` says how the caller addressed the
API, `/api/...` or the reference's management paths (`ArmRoute`), so ids, types and links echo it.
Errors have the shape `{"error": {"code", "message", "details"}}`, which is also ARM's.
"""

import base64
import binascii
import datetime as dt
import hashlib
import json
import re

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TOP = 100
MAX_TOP = 1000
MAX_SKIP = 2**31 - 1
JSON_TYPES = ("application/json", "")
ARM_PROVIDER = "Microsoft.ApiManagement"
ARM_SERVICE_TYPE = f"{ARM_PROVIDER}/service"


class RestError(Exception):
    """An answer in the API's error shape: {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, details=()):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def detail(code: str, target: str, message: str, **extra) -> dict:
    return {"code": code, "target": target, "message": message, **extra}


def invalid(target: str, message: str, code: str = "ValidationError") -> RestError:
    return RestError(400, "ValidationError", message, [detail(code, target, message)])


def utc_timestamp(moment: dt.datetime) -> str:
    """'2027-01-01T00:00:00Z', as the reference writes dates."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference_name(value: str, kind: str) -> str:
    """An Id, also from a resource id such as '/subscriptions/.../certificates/orders-client'."""
    return re.split(f"/{kind}/", value.rstrip("/"), flags=re.IGNORECASE)[-1]


# Answers -------------------------------------------------------------------------------------


def error_response(error: RestError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    response["Cache-Control"] = "no-store"
    return response


def etag(entity: dict) -> str:
    """The entity's version: a hash of its stored state, the same on both route shapes."""
    text = json.dumps(entity, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def entity_response(
    entity: dict, status: int = 200, location: str = "", *, version: str, head: bool = False
) -> HttpResponse:
    response = HttpResponse(status=200) if head else JsonResponse(entity, status=status)
    if head:
        response["Content-Type"] = "application/json"
    response["ETag"] = version
    response["Cache-Control"] = "no-cache"
    if location:
        response["Location"] = location
        response["Retry-After"] = "0"
    return response


def no_content() -> HttpResponse:
    """204: no body, so no media type either."""
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response


# Routes --------------------------------------------------------------------------------------


class Route:
    """The `/api/` shape: ids are paths under /api, types the collection's segment."""

    arm = False

    def __init__(self, base: str = "/api"):
        self.base = base

    def entity_id(self, path: str) -> str:
        return path

    def entity_type(self, resource) -> str:
        return resource.type

    def reference(self, kind: str, name: str) -> str:
        """How a body names another entity, e.g. a backend's client certificates."""
        return name

    def url(self, request, path: str) -> str:
        return request.build_absolute_uri(f"{self.base}{path}")


class ArmRoute(Route):
    """The reference's management paths, echoing the caller's subscription, group and service."""

    arm = True

    def __init__(self, subscription: str, group: str, service: str, api_version: str):
        prefix = (
            f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{ARM_PROVIDER}"
            f"/service/{service}"
        )
        super().__init__(prefix)
        self.service = service
        self.api_version = api_version

    def entity_id(self, path: str) -> str:
        return f"{self.base}{path}"

    def entity_type(self, resource) -> str:
        types = []
        while resource is not None:
            types.insert(0, resource.type)
            resource = resource.parent
        return "/".join([ARM_SERVICE_TYPE, *types])

    def reference(self, kind: str, name: str) -> str:
        return f"{self.base}/{kind}/{name}"

    def url(self, request, path: str) -> str:
        return request.build_absolute_uri(f"{self.base}{path}?api-version={self.api_version}")


# Request bodies ------------------------------------------------------------------------------


def _walk_strings(data):
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def read_body(request) -> dict:
    """The body as a JSON object with an object (or nothing) as `properties`."""
    if request.content_type not in JSON_TYPES and not request.content_type.endswith("+json"):
        raise RestError(
            415, "UnsupportedMediaType", "Send the body as JSON (Content-Type: application/json)."
        )
    too_large = RestError(
        413, "RequestTooLarge", f"The request body is larger than {MAX_BODY_BYTES // 1024} KB."
    )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise RestError(400, "InvalidRequest", "The Content-Length header is not a number.")
    if int(declared) > MAX_BODY_BYTES:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = f"The body is not valid JSON: {str(exc)[:200]}"
        raise RestError(
            400, "InvalidJson", message, [detail("InvalidJson", "body", message)]
        ) from None
    if not isinstance(data, dict):
        raise invalid("body", "The body must be a JSON object with a 'properties' object.")
    for text in _walk_strings(data):
        if "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text):
            raise invalid(
                "body", "Text in the body must not hold NUL or lone surrogate characters."
            )
    if data.get("properties") is None:
        data["properties"] = {}
    if not isinstance(data["properties"], dict):
        raise invalid("properties", "properties must be an object.", "InvalidType")
    return data


def merge(current: dict, patch: dict) -> dict:
    """PATCH's merge: objects merge key by key, anything else replaces, null removes."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Declared properties -------------------------------------------------------------------------


class Properties(BaseModel):
    """An entity's writable properties, declared once: validation and schema come from here.

    Attributes are snake_case, the JSON camelCase. Unknown properties are refused by name;
    properties the portal returns but computes itself are declared `read_only()` and ignored.
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, alias_generator=to_camel, validate_by_name=False
    )


def read_only(description: str, **schema):
    """A property the portal returns and computes: accepted on PUT, ignored."""
    return Field(
        default=None, description=description, json_schema_extra={"readOnly": True, **schema}
    )


_PROBLEMS = {
    "missing": ("Required", "{target} is required."),
    "extra_forbidden": ("UnknownProperty", "{target} is not a property this portal supports."),
}


def _target(path: str, location: tuple) -> str:
    """'properties.tls.caCertificateIds[0]' for a location in the body."""
    return path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)


def validate(model: type[BaseModel], data: dict, path: str = "properties"):
    """`data` read as `model`, or a 400 naming every property that is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        for error in exc.errors(include_url=False):
            target = _target(path, error["loc"])[:200]
            if error["type"] in _PROBLEMS:
                code, template = _PROBLEMS[error["type"]]
                message = template.format(target=target)
            else:
                code = "InvalidType" if error["type"].endswith("_type") else "Invalid"
                message = f"{target}: {error['msg']}."
            details.append(detail(code, target, message))
        unknown = [d["target"] for d in details if d["code"] == "UnknownProperty"]
        if unknown:
            message = f"Unknown or unsupported properties: {', '.join(unknown)}."
        else:
            more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
            message = details[0]["message"] + more
        raise RestError(400, "ValidationError", message, details) from None


def decode_base64(value: str, target: str, *, max_bytes: int) -> bytes:
    """A file sent as base64 text, refused early when far larger than `max_bytes`."""
    if len(value) > (max_bytes // 3 + 1) * 4 + len(value) // 60 + 64:
        raise RestError(
            413,
            "RequestTooLarge",
            f"{target} decodes to more than {max_bytes // 1024} KB, far more than a "
            "certificate needs.",
            [detail("TooLarge", target, "The file is too large.")],
        )
    try:
        return base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        hint = " Encode the whole file, PEM text included." if "-----BEGIN" in value else ""
        raise invalid(
            target, f"{target} must be the file's content in base64.{hint}", "InvalidBase64"
        ) from None

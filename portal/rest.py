"""The REST API under /api/: the plumbing every entity shares.

Resources (certificates/rest.py, apis/rest.py) say what an entity is; this module adds who may
call (bearer token or the portal's session, CSRF enforced for the session), which methods exist,
ETag / If-Match, paging, and the error shape `{"error": {"code", "message", "details"}}`. Bad
input is answered with a 4xx, never a 5xx.
"""

import functools
import hashlib
import json
import logging

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts import tokens
from accounts.models import Scope
from apis.rest import APIS, BACKENDS, OPERATIONS, POLICIES
from audit.models import Action
from audit.trail import record
from certificates.rest import CA_CERTIFICATES, CERTIFICATES, Properties, RestError, detail, invalid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TOP = 100
MAX_TOP = 1000
MAX_SKIP = 2**31 - 1
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
JSON_TYPES = ("application/json", "")
# Every entity under /api/, in the order the docs show them.
RESOURCES = (CERTIFICATES, CA_CERTIFICATES, BACKENDS, APIS, OPERATIONS, POLICIES)


def error_response(error: RestError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    response["Cache-Control"] = "no-store"
    return response


def _unauthorized(message: str) -> RestError:
    return RestError(401, "Unauthorized", message)


def _csrf_rejects(request) -> bool:
    """Run the CSRF check the middleware skipped: the API views are exempt from it as a whole."""
    return CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {}) is not None


def authenticate(request, scope: Scope = Scope.MANAGEMENT) -> None:
    """Make the token's user (or the session's) request.user, or raise a 401."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Send the token as 'Authorization: Bearer <token>'.")
        api_token = tokens.authenticate(token.strip(), scope)
        if api_token is None:
            raise _unauthorized(
                "The token is unknown, revoked, expired or not for this use, "
                "or its user is inactive."
            )
        # record() and permission checks read request.user: the token acts as its user.
        request.user = api_token.user
        request.api_token = api_token
        return
    if not request.user.is_authenticated:
        raise _unauthorized(
            "Authenticate with 'Authorization: Bearer <token>'; create a token under API tokens."
        )
    if request.method not in SAFE_METHODS and _csrf_rejects(request):
        raise RestError(
            403,
            "CsrfFailed",
            "A change made with the portal's session needs the CSRF token (X-CSRFToken header). "
            "Scripts should use a bearer token instead.",
        )


def require(request, permission: str) -> None:
    if request.user.has_perm(permission):
        return
    if request.method not in SAFE_METHODS:
        record(
            request,
            Action.CHANGE_REFUSED,
            object_type="url",
            object_id=request.path[:200],
            message=f"{request.method} refused: the user's role does not allow changes.",
        )
    raise RestError(403, "Forbidden", "Your role does not allow this.")


def etag(entity: dict) -> str:
    text = json.dumps(entity, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def entity_response(entity: dict, status: int = 200, location: str = "") -> JsonResponse:
    response = JsonResponse(entity, status=status)
    response["ETag"] = etag(entity)
    response["Cache-Control"] = "no-cache"
    if location:
        response["Location"] = location
    return response


def _check_preconditions(request, existing_entity: dict | None) -> None:
    current = etag(existing_entity) if existing_entity is not None else None
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        tags = {tag.strip() for tag in if_match.split(",")}
        if current is None or ("*" not in tags and current not in tags):
            raise RestError(
                412,
                "PreconditionFailed",
                "The entity has changed since you read it (or does not exist): If-Match did "
                "not match its ETag. GET it again and retry.",
            )
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and current is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        if "*" in tags or current in tags:
            raise RestError(
                412, "PreconditionFailed", "The entity exists and If-None-Match forbids that."
            )


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


def read_properties(request) -> Properties:
    """The body's `properties`, after checking size, media type and JSON."""
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
    properties = data.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise invalid("properties", "properties must be an object.", "InvalidType")
    return Properties(properties)


def _page_parameter(request, name: str, default: int, minimum: int, maximum: int) -> int:
    value = request.GET.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= maximum:
        raise invalid(name, f"{name} must be a whole number from {minimum} to {maximum}.")
    return int(value)


class Endpoint:
    """The views of one resource: its collection and its items."""

    def __init__(self, resource):
        self.resource = resource

    def parent(self, parent_name):
        parent_resource = self.resource.parent
        if parent_resource is None:
            return None
        parent_resource.check_name(parent_name)
        parent = parent_resource.lookup(None, parent_name)
        if parent is None:
            raise _not_found(parent_resource, parent_name)
        return parent

    def view(self, methods, handler):
        @login_not_required  # answers 401 in JSON rather than redirecting to the sign-in page
        @csrf_exempt  # CSRF is checked in authenticate(), for session-authenticated changes only
        def endpoint_view(request, name=None, parent=None):
            try:
                if request.method not in methods:
                    raise RestError(
                        405,
                        "MethodNotAllowed",
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                    )
                authenticate(request)
                require(request, self.resource.permissions["view"])
                response = handler(request, self.parent(parent), name)
            except RestError as error:
                response = error_response(error)
            except Exception:
                logger.exception("REST API failure on %s %s", request.method, request.path)
                response = error_response(
                    RestError(500, "InternalError", "Something went wrong on our side.")
                )
            if response.status_code == 405:
                response["Allow"] = ", ".join(methods)
            return response

        return endpoint_view

    def list(self, request, parent, name):
        top = _page_parameter(request, "$top", DEFAULT_TOP, 1, MAX_TOP)
        skip = _page_parameter(request, "$skip", 0, 0, MAX_SKIP)
        queryset = self.resource.queryset(parent)
        count = queryset.count()
        entities = [self.resource.entity(obj, parent) for obj in queryset[skip : skip + top]]
        next_link = None
        if skip + top < count:
            query = request.GET.copy()
            query["$top"], query["$skip"] = str(top), str(skip + top)
            next_link = request.build_absolute_uri(f"{request.path}?{query.urlencode(safe='$')}")
        return JsonResponse({"value": entities, "count": count, "nextLink": next_link})

    def item(self, request, parent, name):
        self.resource.check_name(name)
        if request.method == "GET":
            obj = self.resource.lookup(parent, name)
            if obj is None:
                raise _not_found(self.resource, name)
            return entity_response(self.resource.entity(obj, parent))
        work = self.put if request.method == "PUT" else self.delete
        if "If-Match" not in request.headers and "If-None-Match" not in request.headers:
            return work(request, parent, name, self.resource.lookup(parent, name))
        # A conditional change: compare and write under one lock, so nothing slips in between.
        with transaction.atomic():
            existing = self.resource.lookup(parent, name, for_update=True)
            try:
                if existing is None and request.method == "DELETE":
                    raise _not_found(self.resource, name)
                entity = self.resource.entity(existing, parent) if existing else None
                _check_preconditions(request, entity)
                return work(request, parent, name, existing)
            except RestError as error:
                # Commit what was recorded meanwhile, such as a refused change's audit event.
                return error_response(error)

    def put(self, request, parent, name, existing):
        require(request, self.resource.permissions["change" if existing else "add"])
        properties = read_properties(request)
        obj = self.resource.put(request, parent, name, properties, existing)
        entity = self.resource.entity(obj, parent)
        if existing is not None:
            return entity_response(entity)
        return entity_response(entity, 201, request.build_absolute_uri(f"/api{entity['id']}"))

    def delete(self, request, parent, name, existing):
        if existing is None:
            raise _not_found(self.resource, name)
        require(request, self.resource.permissions["delete"])
        self.resource.delete(request, existing)
        return HttpResponse(status=204)

    def urls(self) -> list:
        resource = self.resource
        prefix = f"{resource.parent.type}/<str:parent>/" if resource.parent else ""
        collection = f"{prefix}{resource.type}"
        return [
            path(collection, self.view(("GET",), self.list)),
            path(f"{collection}/<str:name>", self.view(resource.methods, self.item)),
        ]


def _not_found(resource, name: str) -> RestError:
    message = f"No {resource.noun} with the Id {name[:100]}."
    return RestError(404, "ResourceNotFound", message, [detail("NotFound", "name", message)])


def _get_only(view, methods=("GET", "HEAD")):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in methods:
            response = error_response(
                RestError(405, "MethodNotAllowed", f"{request.method} is not allowed; use GET.")
            )
            response["Allow"] = ", ".join(methods)
            return response
        return view(request, *args, **kwargs)

    return wrapper


def api_get(view):
    """A read-only JSON view of the API (its root, its schema): a token or the session."""

    @login_not_required
    @csrf_exempt
    @_get_only
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            authenticate(request)
        except RestError as error:
            return error_response(error)
        return view(request, *args, **kwargs)

    return wrapper


def page_get(view):
    """A read-only page about the API for signed-in people (the docs): 405 JSON otherwise."""
    return csrf_exempt(_get_only(view))


@login_not_required
@csrf_exempt
def not_found(request, rest=""):
    return error_response(
        RestError(404, "ResourceNotFound", f"There is nothing at {request.path[:200]}.")
    )


def bearer_or_session(view):
    """Let a view also be called with an API token (scripts calling APIs through the gateway).

    With a token the call is CSRF-exempt and acts as the token's user; with the portal's
    session, CSRF is enforced for changes as usual. Failures answer in the view's JSON shape.
    """

    @login_not_required
    @csrf_exempt
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        carries_token = header.strip().lower().startswith(f"bearer {tokens.TOKEN_MARKER}")
        if not carries_token:
            # Any other Authorization header is the caller's own, for the back end.
            request.META.pop("HTTP_AUTHORIZATION", None)
        try:
            if carries_token or request.user.is_authenticated:
                authenticate(request, Scope.GATEWAY)
        except RestError as error:
            return error_response(error)
        if header and not carries_token:
            request.META["HTTP_AUTHORIZATION"] = header
        else:
            # The portal's token is ours: it never travels on to a back end.
            request.META.pop("HTTP_AUTHORIZATION", None)
        request.__dict__.pop("headers", None)
        return view(request, *args, **kwargs)

    return wrapped

"""The REST API's project-level wiring: who may call, and the two route shapes.

The machinery (dispatcher, ETags, paging, errors) is in lib/rest.py and lib/rest_dispatch.py,
each entity's definition in its app (certificates/rest.py, apis/rest.py). This module adds token
or session authentication (CSRF enforced for the session), permissions, the `/api/...` and the
management (ARM) views over one `Dispatcher`, `api-version` on the management paths, and the
service resource that stands for the whole portal there.
"""

import functools
import logging
import re

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from accounts import tokens
from accounts.models import Scope
from apis.rest import APIS, BACKENDS, OPERATIONS, POLICIES
from audit.models import Action
from audit.trail import record
from certificates.rest import CA_CERTIFICATES, CERTIFICATES
from lib.rest import ARM_SERVICE_TYPE, ArmRoute, RestError, Route, error_response
from lib.rest_dispatch import Dispatcher, nothing_at

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Every entity, in the order the docs show them.
RESOURCES = (CERTIFICATES, CA_CERTIFICATES, BACKENDS, APIS, OPERATIONS, POLICIES)
# The management API versions answered: those of the current Azure SDK and az (documented).
API_VERSIONS = (
    "2022-08-01",
    "2022-09-01-preview",
    "2023-03-01-preview",
    "2023-05-01-preview",
    "2023-09-01-preview",
    "2024-05-01",
    "2024-06-01-preview",
)


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


class Guard:
    """What the dispatcher asks before it answers: who calls, and may they."""

    authenticate = staticmethod(authenticate)
    require = staticmethod(require)


DISPATCHER = Dispatcher(RESOURCES, Guard)

ARM_PATH = re.compile(
    r"^subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ApiManagement/service/(?P<service>[^/]+)(?P<rest>/.*)?$",
    re.IGNORECASE,
)


def _entity_view(view):
    """A view of the API's entities: JSON 401 rather than the sign-in page, CSRF in authenticate."""
    return login_not_required(csrf_exempt(view))


@_entity_view
def api_view(request, rest=""):
    """Everything under /api/ that is not the root, the schema or the docs."""
    return DISPATCHER.dispatch(request, f"/{rest}", Route("/api"))


def _api_version(request) -> str:
    version = request.GET.get("api-version", "")
    if version not in API_VERSIONS:
        given = f"'{version[:40]}' is not supported" if version else "is missing"
        raise RestError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version {given}. The supported versions are '{', '.join(API_VERSIONS)}'.",
        )
    return version


@_entity_view
def arm_view(request, path):
    """The reference's management paths: the same entities, ids and links in ARM's shape."""
    found = ARM_PATH.match(path)
    try:
        if found is None:
            raise nothing_at(request)
        route = ArmRoute(*found.group("subscription", "group", "service"), _api_version(request))
    except RestError as error:
        return error_response(error)
    rest = found.group("rest") or ""
    if rest.strip("/") == "":
        return _service_view(request, route)
    return DISPATCHER.dispatch(request, rest, route)


def _service_view(request, route: ArmRoute):
    """The one API Management service the portal stands for, whatever name the caller used."""
    try:
        if request.method not in SAFE_METHODS[:2]:
            raise RestError(405, "MethodNotAllowed", "The service is read only here; use GET.")
        authenticate(request)
        management = request.build_absolute_uri("/").rstrip("/")
        gateway = settings.GATEWAY_BASE_URL
        service = {
            "id": route.base,
            "name": route.service,
            "type": ARM_SERVICE_TYPE,
            "location": "self-hosted",
            "sku": {"name": "Developer", "capacity": 1},
            "properties": {
                "provisioningState": "Succeeded",
                "gatewayUrl": gateway.rstrip("/"),
                "managementApiUrl": management,
                "publisherEmail": getattr(settings, "DEFAULT_FROM_EMAIL", ""),
                "publisherName": "Certificate portal",
            },
        }
    except RestError as error:
        response = error_response(error)
        if error.status == 405:
            response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse(service)


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

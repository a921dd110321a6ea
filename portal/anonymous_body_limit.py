"""Nobody makes a worker read a large request body before signing in.

Before sign-in the only body worth sending is the sign-in form (a few hundred bytes). A request
that declares a body larger than ANONYMOUS_MAX_BODY_BYTES, or does not declare its length
(chunked), is answered 413 before a byte of it is read, unless a user is signed in with a session
or the request carries a valid API token (scripts upload certificates and call the gateway with
one). Signed-in requests keep the limits in settings (FILE_UPLOAD_MAX_MEMORY_SIZE,
DATA_UPLOAD_MAX_MEMORY_SIZE, GATEWAY_MAX_BODY_BYTES).

Only a large or undeclared body costs the session (or token) lookup; small ones pass untouched.
It must come after AuthenticationMiddleware and before anything that reads the body (CSRF's
check reads request.POST, but in process_view, after every middleware's request phase).
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from accounts import tokens
from accounts.models import Scope


def _declared_length(request) -> int | None:
    """The declared body length, 0 without a body, None when the length is unknown."""
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    declared = request.META.get("CONTENT_LENGTH", "").strip()
    if not declared:
        return 0
    return int(declared) if declared.isdigit() else None


def _signed_in(request) -> bool:
    """A session user, or one of our API tokens (another Authorization header may be the
    caller's own, for a back end behind the gateway: it proves nothing here)."""
    if request.user.is_authenticated:
        return True
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Whatever it may be used for: the view checks the scope it needs.
    token = token.strip()
    return any(tokens.authenticate(token, scope) for scope in (Scope.MANAGEMENT, Scope.GATEWAY))


def _refusal(request, limit: int) -> HttpResponse:
    message = (
        f"The request body is too large: before signing in, at most {limit} bytes are accepted. "
        "Sign in, or send an API token as 'Authorization: Bearer <token>'."
    )
    if "HTTP_AUTHORIZATION" in request.META or "json" in request.META.get("HTTP_ACCEPT", ""):
        return JsonResponse(
            {"error": {"code": "RequestBodyTooLarge", "message": message, "details": []}},
            status=413,
        )
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class AnonymousBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.ANONYMOUS_MAX_BODY_BYTES
        declared = _declared_length(request)
        if declared is not None and declared <= limit:
            return self.get_response(request)
        if _signed_in(request):
            return self.get_response(request)
        return _refusal(request, limit)

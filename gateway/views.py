import logging

import httpx
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from gateway import tls
from gateway.forwarding import Call, forward, new_request_id

logger = logging.getLogger("gateway")

METHODS_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}
# Back-end answers up to this size (by their Content-Length) are read whole, larger ones streamed.
BUFFERED_BODY_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    pass


def error_response(status: int, code: str, message: str, request_id: str) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message}, "requestId": request_id}, status=status
    )
    response["X-Request-Id"] = request_id
    return response


def _request_headers(request) -> list[tuple[str, str]]:
    headers = [(name, value) for name, value in request.headers.items()]
    return headers


def _streamed_body(request, cap: int):
    def chunks():
        total = 0
        while chunk := request.read(64 * 1024):
            total += len(chunk)
            if total > cap:
                raise BodyTooLarge
            yield chunk

    return chunks()


class _Relayed:
    """A back end's answer: its headers replace Django's defaults, and each Set-Cookie line is
    passed on as it came (a cookie parsed and written again can lose or gain attributes)."""

    def relay_headers(self, headers: list[tuple[str, str]]) -> None:
        own_cookies = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
        self.set_cookies = []
        joined: dict[str, tuple[str, str]] = {}
        for name, value in headers:
            key = name.lower()
            if key == "set-cookie":
                # A back end must not set the portal's own session or CSRF cookie.
                if value.split("=", 1)[0].strip() not in own_cookies:
                    self.set_cookies.append(value)
            elif key in joined:  # a repeated header: one list, as RFC 9110 allows
                joined[key] = (joined[key][0], f"{joined[key][1]}, {value}")
            else:
                joined[key] = (name, value)
        del self["Content-Type"]  # Django's default; the back end's own, if any, follows
        for name, value in joined.values():
            self[name] = value

    def items(self):
        """What the WSGI handler sends (Django adds its own cookies after these)."""
        return [*super().items(), *(("Set-Cookie", value) for value in self.set_cookies)]


class RelayedResponse(_Relayed, HttpResponse):
    pass


class StreamedRelayedResponse(_Relayed, StreamingHttpResponse):
    pass


def _relayed(upstream):
    # One chunk behind: the back-end connection goes back to the pool before the last bytes go
    # out. Otherwise a keep-alive caller's next request can arrive while it is still taken, and
    # open (and shake hands on) a second connection.
    try:
        held = None
        for chunk in upstream.iter_raw():
            if held is not None:
                yield held
            held = chunk
        upstream.close()
        if held is not None:
            yield held
    finally:
        upstream.close()


@login_not_required  # answers 401 in JSON itself rather than redirecting to the sign-in page
def gateway_call(request, path):
    """The data plane: /gateway/<API URL suffix>/<operation path>."""
    request_id = new_request_id()
    if not request.user.is_authenticated:
        return error_response(401, "unauthenticated", "Sign in to call APIs.", request_id)
    if not request.user.has_perm("apis.call_api"):
        return error_response(
            403,
            "forbidden",
            "Your role does not allow calling APIs through the gateway.",
            request_id,
        )
    cap = settings.GATEWAY_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > cap:
        return error_response(
            413, "body_too_large", f"The request body is larger than {cap} bytes.", request_id
        )
    call = Call(
        method=request.method,
        path=path,
        query=request.META.get("QUERY_STRING", ""),
        headers=_request_headers(request),
        body=_streamed_body(request, cap) if request.method in METHODS_WITH_BODY else b"",
        client_address=request.META.get("REMOTE_ADDR", ""),
        scheme=request.scheme,
        host=request.get_host(),
        request_id=request_id,
    )
    try:
        outcome = forward(call)
    except BodyTooLarge:
        return error_response(
            413, "body_too_large", f"The request body is larger than {cap} bytes.", request_id
        )
    if outcome.failure is not None:
        failure = outcome.failure
        return error_response(failure.status, failure.code, failure.message, request_id)
    upstream = outcome.response
    length = upstream.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= BUFFERED_BODY_BYTES:
        # A small body is read whole: the back-end connection is free again before the answer
        # goes out, and the answer leaves in one piece.
        try:
            response = RelayedResponse(b"".join(upstream.iter_raw()), status=outcome.status)
        except httpx.HTTPError as exc:  # the back end stalled or hung up in the middle
            failure = tls.classify(exc)
            logger.warning(
                "gateway request_id=%s body of /%s failed: %s %s",
                request_id,
                path,
                failure.code,
                failure.message,
            )
            return error_response(failure.status, failure.code, failure.message, request_id)
        finally:
            upstream.close()
    else:
        response = StreamedRelayedResponse(_relayed(upstream), status=outcome.status)
    response.relay_headers(outcome.headers)
    response["X-Request-Id"] = request_id
    return response

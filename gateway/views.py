from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse

from gateway.forwarding import Call, forward, new_request_id

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
            response = HttpResponse(b"".join(upstream.iter_raw()), status=outcome.status)
        finally:
            upstream.close()
    else:
        response = StreamingHttpResponse(_relayed(upstream), status=outcome.status)
    for name, value in outcome.headers:
        if name.lower() == "set-cookie":
            # Each is a header of its own (they cannot be joined); Django sends them from here.
            response.cookies.load(value)
        elif name in response.headers:  # a repeated header: one list, as RFC 9110 allows
            response.headers[name] = f"{response.headers[name]}, {value}"
        else:
            response.headers[name] = value
    response["X-Request-Id"] = request_id
    return response

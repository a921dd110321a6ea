"""The gateway's own server: a plain ASGI application on its own origin.

Callers present an API token (gateway.callers); nothing of the portal's session, CSRF, messages
or sign-in machinery runs here, and nothing a back end sends is ever served on the portal's
origin. `/healthz` is the gateway's own (no API may take the URL suffix `healthz`); every other
path is `/<API URL suffix>/<operation path>`, as the portal's `/gateway/...` was.

Served by uvicorn (gateway.asgi); each worker process keeps its configuration, token checks and
back-end connections in memory (see gateway.plans, gateway.callers, gateway.tls).
"""

import asyncio
import json
import logging

import aiohttp
from asgiref.sync import sync_to_async
from django.conf import settings

from gateway import tls
from gateway.callers import CallerCache, token_of
from gateway.forwarding import Call, Outcome, forward, new_request_id, note_presented, presence_due
from gateway.plans import ConfigurationCache

logger = logging.getLogger("gateway")

# Back-end answers up to this size (by their Content-Length) are read whole, larger ones
# streamed; request bodies up to this size too.
BUFFERED_BODY_BYTES = 64 * 1024
# Methods whose requests carry no body: one declared anyway is refused rather than left for
# the back end to wait for.
METHODS_WITHOUT_BODY = {"GET", "HEAD", "OPTIONS", "TRACE"}
HEALTHZ = "/healthz"


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Gateway:
    def __init__(self):
        # Its sessions are made on first use, inside the running event loop.
        self.pool = tls.ClientPool()
        self.configuration = ConfigurationCache()
        self.callers = CallerCache()
        self._background: set[asyncio.Future] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope, receive, send):
        request_id = new_request_id()
        try:
            if scope["path"] == HEALTHZ:
                await self.healthz(scope, send)
                return
            call = await self.call(scope, receive, request_id)
        except Refusal as refusal:
            await send_error(send, refusal.status, refusal.code, refusal.message, request_id)
            return
        outcome = await forward(call, self.pool, self.configuration)
        if outcome.certificate_offered and presence_due(outcome.certificate):
            # Off the call's path: at most one write a minute per certificate.
            task = asyncio.ensure_future(sync_to_async(note_presented)(outcome.certificate))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if outcome.failure is not None:
            failure = outcome.failure
            await send_error(send, failure.status, failure.code, failure.message, request_id)
            return
        await relay(outcome, send, request_id)

    async def healthz(self, scope, send):
        """For load balancers: 200 when the configuration can be read, 503 otherwise."""
        status, text = 200, b"ok\n"
        try:
            await self.configuration.current()
        except Exception:
            logger.exception("gateway healthz: the configuration cannot be read")
            status, text = 503, b"database unavailable\n"
        headers = [
            (b"content-type", b"text/plain"),
            (b"content-length", str(len(text)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else text}
        )

    async def call(self, scope, receive, request_id: str) -> Call:
        headers = [
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope["headers"]
        ]
        token, token_header = token_of(headers)
        if token is None:
            raise Refusal(
                401,
                "unauthenticated",
                "Call with an API token: 'Authorization: Bearer <token>' or "
                "'Ocp-Apim-Subscription-Key: <token>'.",
            )
        caller = await self.callers.caller(token)
        if caller is None:
            raise Refusal(
                401,
                "unauthenticated",
                "The API token is not valid: unknown, revoked or expired, or its user is inactive.",
            )
        if not caller.may_call:
            raise Refusal(
                403, "forbidden", "Your role does not allow calling APIs through the gateway."
            )
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if not raw_path.isascii():
            raise Refusal(400, "bad_path", "The path must be ASCII, other bytes percent-encoded.")
        client = scope.get("client") or ("", 0)
        host = next((value for name, value in headers if name == "host"), "")
        return Call(
            method=scope["method"],
            path=raw_path.decode("ascii").removeprefix("/"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=await request_body(scope["method"], headers, receive),
            client_address=client[0],
            scheme=scope.get("scheme", "http"),
            host=host,
            request_id=request_id,
            token_header=token_header,
        )


async def request_body(method: str, headers: list[tuple[str, str]], receive):
    """The caller's body: bytes when small or chunked (sent on whole, with its length), an
    async iterator when large. A declared body on a method that has none is refused."""
    cap = settings.GATEWAY_MAX_BODY_BYTES
    declared = next((value.strip() for name, value in headers if name == "content-length"), None)
    chunked = any(
        name == "transfer-encoding" and "chunked" in value.lower() for name, value in headers
    )
    if declared is not None and not declared.isdigit():
        raise Refusal(400, "bad_content_length", "Content-Length must be a number of bytes.")
    length = int(declared) if declared is not None else None
    if method in METHODS_WITHOUT_BODY:
        if chunked or (length or 0) > 0:
            raise Refusal(
                400,
                "unexpected_body",
                f"A {method} request carries no body; this one declares one. Send it without "
                "a body (or with Content-Length: 0).",
            )
        return b""
    if length is not None and length > cap:
        raise too_large(cap)
    if length is None and not chunked:
        return b""
    if chunked or length <= BUFFERED_BODY_BYTES:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > cap:
                raise too_large(cap)
            if not message.get("more_body"):
                return bytes(body)

    async def chunks():
        while True:
            message = await receive()
            if chunk := message.get("body", b""):
                yield chunk
            if not message.get("more_body"):
                return

    return chunks()


def too_large(cap: int) -> Refusal:
    return Refusal(413, "body_too_large", f"The request body is larger than {cap} bytes.")


async def relay(outcome: Outcome, send, request_id: str) -> None:
    """The back end's answer as it came (its cookies too, but never one named like the
    portal's), with the gateway's request id."""
    upstream = outcome.response
    own_cookies = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    headers = []
    for name, value in outcome.headers:
        lower = name.lower()
        if lower == "set-cookie" and value.split("=", 1)[0].strip() in own_cookies:
            continue
        if lower == "x-request-id":
            continue
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    headers.append((b"x-request-id", request_id.encode()))
    length = upstream.content_length
    try:
        if length is not None and length <= BUFFERED_BODY_BYTES:
            # A small body is read whole: the back-end connection is free again before the
            # answer goes out, and the answer leaves in one piece.
            try:
                body = await upstream.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                failure = tls.classify(exc, f"{upstream.url.host}:{upstream.url.port}")
                logger.warning(
                    "gateway request_id=%s body failed: %s %s",
                    request_id,
                    failure.code,
                    failure.message,
                )
                await send_error(send, failure.status, failure.code, failure.message, request_id)
                return
            finally:
                upstream.release()
            await send(
                {"type": "http.response.start", "status": outcome.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
        try:
            async for chunk in upstream.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # Too late for a clean answer: cut the caller's connection short, so that it can
            # tell the body is incomplete.
            logger.warning("gateway request_id=%s body cut short: %s", request_id, exc)
            raise
        await send({"type": "http.response.body", "body": b""})
    finally:
        upstream.release()


async def send_error(send, status: int, code: str, message: str, request_id: str) -> None:
    body = json.dumps(
        {"error": {"code": code, "message": message}, "requestId": request_id}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"cache-control", b"no-store"),
                (b"x-request-id", request_id.encode()),
                *([(b"www-authenticate", b"Bearer")] if status == 401 else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

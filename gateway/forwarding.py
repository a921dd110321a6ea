"""Forward a call to an API's back end: find the API and operation, present the client
certificate, verify the back end as its backend says, and turn failures into clear answers.

The data plane (gateway.server) and the Test console both call `forward`, with their own pool
of back-end connections and configuration cache.
"""

import base64
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

import aiohttp
from cryptography import x509
from django.conf import settings
from django.utils import timezone
from yarl import URL

from apis.effective import validation_path
from apis.models import Api
from certificates.keystore import DecryptionError
from certificates.models import Certificate
from gateway import tls
from gateway.plans import ConfigurationCache, FixedConfiguration
from gateway.routing import match_operation

logger = logging.getLogger("gateway")

# Headers that describe one connection, not the message (RFC 9110, 7.6.1), and Host, which
# names the gateway. Content-Length stays: many back ends refuse a chunked request body.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
# Client identities by certificate version (see client_identity).
_identities: dict[tuple, tuple[x509.Certificate, tls.ClientIdentity]] = {}
MAX_IDENTITIES = 1024
# When this worker last wrote Certificate.last_presented_at, so a busy API costs one write a minute.
_presented: dict[int, float] = {}
PRESENTED_WRITE_INTERVAL = 60.0


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Call:
    method: str
    # After the gateway's root, without the leading slash, percent-encoded as the caller sent
    # it: it goes to the back end as it came (an encoded '?' or '#' stays in the path).
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # names in lower case
    body: object = b""  # bytes or an async iterator of bytes
    client_address: str = ""
    scheme: str = "https"
    host: str = ""
    request_id: str = field(default_factory=new_request_id)
    token_header: str | None = None  # the header that carried the caller's token: not forwarded
    trace: bool = False  # describe the back end's TLS session (the Test console shows it)


@dataclass
class Outcome:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    response: aiohttp.ClientResponse | None = None  # open; the caller releases it
    failure: tls.Failure | None = None
    api: Api | None = None
    certificate: Certificate | None = None
    validation: tls.ServerValidation | None = None
    trace: dict = field(default_factory=dict)
    # Whether the client certificate went out in a completed handshake, and why not otherwise.
    certificate_offered: bool = False
    certificate_note: str = ""
    elapsed_ms: float = 0.0


def with_fix(failure: tls.Failure, api: Api, backend_name: str) -> tls.Failure:
    url = settings.PORTAL_BASE_URL + validation_path(api, backend_name)
    message = f"{failure.message} Change it at {url}"
    return dataclasses.replace(failure, message=message, fix_url=url)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.failure = tls.Failure(status, code, message)


class BadPath(ValueError):
    pass


def decoded_segments(path: str) -> list[str]:
    """The path's segments, percent-decoded; BadPath for one that could leave the service URL's
    base path or mean something else to the back end than to the gateway."""
    segments = []
    for raw in path.split("/"):
        segment = unquote(raw, errors="strict")
        if segment in {".", ".."} or any(c in segment for c in "/\\") or not segment.isprintable():
            raise BadPath(raw)
        segments.append(segment)
    return segments


def client_identity(certificate: Certificate) -> tls.ClientIdentity:
    """Fail closed: a certificate that cannot be used refuses the call, never sends it bare.

    The dates are checked on every call; the key is decrypted once per certificate version in
    this worker (the pool's TLS context holds it from then on anyway).
    """
    key = (certificate.pk, certificate.version, certificate.thumbprint)
    known = _identities.get(key)
    if known is None:
        known = (x509.load_pem_x509_certificate(certificate.certificate_pem.encode()), None)
    parsed, identity = known
    problem = tls.validate_identity_dates(parsed, timezone.now())
    if problem is not None:
        raise Refused(problem.status, problem.code, problem.message)
    if identity is None:
        try:
            private_key = certificate.private_key_der()
        except DecryptionError:
            raise Refused(
                500,
                "client_certificate_unavailable",
                f"The private key of client certificate {certificate.name} cannot be decrypted "
                "with the configured key ring, so the call was not sent. Check PORTAL_KEYRING.",
            ) from None
        identity = tls.ClientIdentity(
            key=key,
            certificate_pem=certificate.certificate_pem,
            chain_pem=certificate.chain_pem,
            private_key_der=private_key,
        )
        if len(_identities) >= MAX_IDENTITIES:
            _identities.clear()
        _identities[key] = (parsed, identity)
    return identity


def outbound_headers(call: Call, api: Api) -> list[tuple[str, str]]:
    named_by_connection = {
        token.strip().lower()
        for name, value in call.headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    own_cookies = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    headers = []
    forwarded_for = []
    for name, value in call.headers:
        lower = name.lower()
        if (
            lower in HOP_BY_HOP
            or lower in named_by_connection
            or lower == "x-csrftoken"
            or lower == call.token_header  # the portal's token is ours: never sent on
        ):
            continue
        if lower == "x-forwarded-for":
            forwarded_for.append(value)
            continue
        if lower.startswith("x-forwarded-"):
            continue
        if lower == "cookie":
            # The portal's own cookies (a browser sends them to every port of its host) never
            # reach a back end.
            kept = [
                part
                for part in value.split(";")
                if part.strip().split("=", 1)[0] not in own_cookies
            ]
            if not any(part.strip() for part in kept):
                continue
            value = ";".join(kept).strip()
        headers.append((name, value))
    if call.client_address:
        forwarded_for.append(call.client_address)
    if forwarded_for:
        headers.append(("X-Forwarded-For", ", ".join(forwarded_for)))
    headers.append(("X-Forwarded-Proto", call.scheme))
    if call.host:
        headers.append(("X-Forwarded-Host", call.host))
    headers.append(("X-Request-Id", call.request_id))
    if api.basic_username and not api.client_certificate_id:
        try:
            password = api.basic_password()
        except DecryptionError:
            raise Refused(
                500,
                "basic_password_unavailable",
                f"The Basic password of API {api.name} cannot be decrypted with the configured "
                "key ring, so the call was not sent. Check PORTAL_KEYRING.",
            ) from None
        token = f"{api.basic_username}:{password}".encode()
        headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
        headers.append(("Authorization", "Basic " + base64.b64encode(token).decode()))
    return headers


def presence_due(certificate: Certificate) -> bool:
    """Whether this worker should write Certificate.last_presented_at now: at most once a
    minute per certificate (the call to note_presented then follows)."""
    now = time.monotonic()
    if now - _presented.get(certificate.pk, -PRESENTED_WRITE_INTERVAL) < PRESENTED_WRITE_INTERVAL:
        return False
    _presented[certificate.pk] = now
    return True


def note_presented(certificate: Certificate) -> None:
    """Write Certificate.last_presented_at (blocking: where the database may be used)."""
    Certificate.objects.filter(pk=certificate.pk).update(last_presented_at=timezone.now())


async def forward(
    call: Call, pool: tls.ClientPool, configuration: ConfigurationCache | FixedConfiguration
) -> Outcome:
    """Send the call to the back end. On success the Outcome holds the back end's response,
    its body not yet read: the caller reads and releases it, and notes the certificate as
    presented (note_presented) when outcome.certificate_offered."""
    started = time.perf_counter()
    outcome = Outcome(status=502)
    target = "(unknown)"
    connected = False
    plan = None
    try:
        try:
            segments = decoded_segments(call.path)
        except (BadPath, UnicodeDecodeError):
            raise Refused(
                400,
                "bad_path",
                "The path holds an encoded '/', '\\', '.' or '..' segment, a control character "
                "or bytes that are not UTF-8; the gateway does not forward it.",
            ) from None
        snapshot = await configuration.current()
        found = await configuration.find_api(snapshot, "/".join(segments))
        if found is None:
            raise Refused(404, "api_not_found", "No API has this URL suffix.")
        api, consumed = found
        outcome.api = api
        rest = "/" + "/".join(call.path.split("/")[consumed:])
        plan = await configuration.plan(snapshot, api)
        route = match_operation(call.method, rest, plan.operations)
        if route is None:
            raise Refused(
                404,
                "operation_not_found",
                f"API {api.name} has no operation for {call.method} {unquote(rest)}.",
            )
        outcome.validation = plan.validation
        certificate = plan.certificate
        outcome.certificate = certificate
        identity = client_identity(certificate) if certificate else None
        url = URL(
            str(URL(api.service_url.rstrip("/"))) + rest + (f"?{call.query}" if call.query else ""),
            encoded=True,
        )
        target = f"{url.host}:{url.port}"
        session = pool.get(identity, plan.validation, timeout=settings.GATEWAY_TIMEOUT_SECONDS)
        response = await session.request(
            call.method,
            url,
            headers=outbound_headers(call, api),
            data=call.body or None,
            allow_redirects=False,
        )
        connected = True
    except Refused as refused:
        outcome.failure = refused.failure
    except (aiohttp.ClientError, OSError, tls.ContextError, TimeoutError) as exc:
        outcome.failure = tls.classify(exc, target)
        if outcome.failure.code in tls.VALIDATION_FAILURES and plan is not None:
            outcome.failure = with_fix(outcome.failure, outcome.api, plan.backend_name)
    if outcome.failure is not None:
        outcome.certificate_note = _certificate_note(outcome, connected)
        outcome.status = outcome.failure.status
        outcome.elapsed_ms = (time.perf_counter() - started) * 1000
        logger.warning(
            "gateway request_id=%s %s /%s -> %s %s: %s",
            call.request_id,
            call.method,
            call.path,
            outcome.status,
            outcome.failure.code,
            outcome.failure.message,
        )
        return outcome
    outcome.response = response
    outcome.status = response.status
    outcome.headers = [
        (name, value)
        for name, value in (
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.raw_headers
        )
        if name.lower() not in HOP_BY_HOP
    ]
    ssl_object = tls.ssl_object_of(response)
    outcome.certificate_offered = certificate is not None and ssl_object is not None
    outcome.certificate_note = _certificate_note(outcome, connected, ssl_object)
    if call.trace:
        outcome.trace = tls.describe_peer(ssl_object)
    outcome.elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "gateway request_id=%s %s /%s -> %s in %.1f ms (certificate %s)",
        call.request_id,
        call.method,
        call.path,
        outcome.status,
        outcome.elapsed_ms,
        certificate.name if certificate else "-",
    )
    return outcome


def _certificate_note(outcome: Outcome, connected: bool, ssl_object=None) -> str:
    """What the trace says about the client certificate: offered only when one was configured
    and the TLS handshake completed (the gateway cannot know whether the server asked for it)."""
    if outcome.certificate is None:
        return "Not sent: the API and its backend name no client certificate."
    if connected and ssl_object is not None:
        return "Offered in the TLS handshake."
    if connected:
        return "Not sent: the service URL is plain http://, without TLS."
    failure = outcome.failure
    if failure is not None and failure.code in {
        "client_certificate_expired",
        "client_certificate_unavailable",
    }:
        return "Not sent: the call was refused before connecting."
    if failure is not None and failure.code == "client_certificate_rejected":
        return "Offered in the TLS handshake, and refused by the back end."
    return "Not sent: the TLS handshake with the back end did not complete."

"""Forward a call to an API's back end: find the API and operation, present the client
certificate, verify the back end as its backend says, and turn failures into clear answers.

The pages (the Test console) and the data plane (/gateway/...) both call `forward`.
"""

import base64
import logging
import time
import uuid
from dataclasses import dataclass, field

import httpx
from cryptography import x509
from django.conf import settings
from django.db.models import Subquery
from django.utils import timezone

from apis.models import Api
from certificates.keystore import DecryptionError
from certificates.models import Certificate
from gateway import tls
from gateway.models import STAMP_ROW, ConfigurationStamp
from gateway.plans import PlanCache
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
# Every worker keeps its own pool; a context is built once per certificate version.
pool = tls.ClientPool()
# And its own plans: operations, backend TLS settings and credentials per API.
plans = PlanCache()
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
    path: str  # after /gateway/, without a leading slash
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: object = b""  # bytes or an iterator of bytes
    client_address: str = ""
    scheme: str = "https"
    host: str = ""
    request_id: str = field(default_factory=new_request_id)
    trace: bool = False  # describe the back end's TLS session (the Test console shows it)


@dataclass
class Outcome:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    response: httpx.Response | None = None  # open stream; the caller closes it
    failure: tls.Failure | None = None
    api: Api | None = None
    certificate: Certificate | None = None
    validation: tls.ServerValidation | None = None
    trace: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.failure = tls.Failure(status, code, message)


def find_api(path: str) -> tuple[Api, str, str | None] | None:
    """The API whose URL suffix is the longest leading part of `path`, the rest of the path,
    and the configuration stamp (see gateway.models; None when there is none).

    One statement reads both, so the stamp is as old as the row: a plan kept under it was read
    after it, and is at least as new as the row.
    """
    segments = path.strip("/").split("/")
    prefixes = ["/".join(segments[:n]) for n in range(len(segments), 0, -1)]
    stamp = ConfigurationStamp.objects.filter(pk=STAMP_ROW).values("value")
    candidates = Api.objects.filter(path__in=prefixes).annotate(
        configuration_stamp=Subquery(stamp[:1])
    )
    apis = {api.path: api for api in candidates}
    for prefix in prefixes:
        if prefix in apis:
            api = apis[prefix]
            rest = "/" + path.strip("/")[len(prefix) :].lstrip("/")
            return api, rest, api.configuration_stamp
    return None


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
        if lower in HOP_BY_HOP or lower in named_by_connection or lower == "x-csrftoken":
            continue
        if lower == "x-forwarded-for":
            forwarded_for.append(value)
            continue
        if lower.startswith("x-forwarded-"):
            continue
        if lower == "cookie":
            # The portal's own session must never reach a back end.
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


def _note_presented(certificate: Certificate) -> None:
    now = time.monotonic()
    if now - _presented.get(certificate.pk, -PRESENTED_WRITE_INTERVAL) < PRESENTED_WRITE_INTERVAL:
        return
    _presented[certificate.pk] = now
    Certificate.objects.filter(pk=certificate.pk).update(last_presented_at=timezone.now())


def forward(call: Call) -> Outcome:
    """Send the call to the back end. On success the Outcome holds an open streamed response."""
    started = time.perf_counter()
    outcome = Outcome(status=502)
    log = logging.LoggerAdapter(logger, {"request_id": call.request_id})
    try:
        found = find_api(call.path)
        if found is None:
            raise Refused(404, "api_not_found", "No API has this URL suffix.")
        api, rest, stamp = found
        outcome.api = api
        plan = plans.get(api, stamp)
        route = match_operation(call.method, rest, plan.operations)
        if route is None:
            raise Refused(
                404,
                "operation_not_found",
                f"API {api.name} has no operation for {call.method} {rest}.",
            )
        outcome.validation = plan.validation
        certificate = plan.certificate
        outcome.certificate = certificate
        identity = client_identity(certificate) if certificate else None
        url = api.service_url.rstrip("/") + rest + (f"?{call.query}" if call.query else "")
        client = pool.get(identity, outcome.validation, timeout=settings.GATEWAY_TIMEOUT_SECONDS)
        request = client.build_request(
            call.method, url, headers=outbound_headers(call, api), content=call.body
        )
        response = client.send(request, stream=True)
    except Refused as refused:
        outcome.failure = refused.failure
    except (httpx.HTTPError, OSError, tls.ContextError) as exc:
        outcome.failure = tls.classify(exc)
    if outcome.failure is not None:
        outcome.status = outcome.failure.status
        outcome.elapsed_ms = (time.perf_counter() - started) * 1000
        log.warning(
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
    outcome.status = response.status_code
    outcome.headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in HOP_BY_HOP
    ]
    if call.trace:
        outcome.trace = tls.describe_peer(response)
    outcome.elapsed_ms = (time.perf_counter() - started) * 1000
    if certificate is not None:
        _note_presented(certificate)
    log.info(
        "gateway request_id=%s %s /%s -> %s in %.1f ms (certificate %s)",
        call.request_id,
        call.method,
        call.path,
        outcome.status,
        outcome.elapsed_ms,
        certificate.name if certificate else "-",
    )
    return outcome

"""TLS to the back ends: SSL contexts and HTTP clients per client certificate, and failures.

Django-free. The gateway presents an API's client certificate to its back end and verifies the
back end's certificate as the backend's settings say. Building a context parses keys and the
system trust store (tens of milliseconds), so ClientPool builds one per certificate version and
keeps its HTTP client, with its keep-alive connections, for every later call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import socket
import ssl
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field

import aiohttp
import service_identity
import service_identity.cryptography
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True)
class ServerValidation:
    """How the back end's certificate is verified: the backend's TLS settings."""

    validate_chain: bool = True
    validate_name: bool = True
    # When any are listed, the only certificates trusted for this back end; else the system's.
    ca_certificates_pem: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClientIdentity:
    """The client certificate the gateway presents.

    key identifies this exact certificate, e.g. (certificate id, version, thumbprint): a replaced
    certificate must get a new key, so that the next call builds a new context.
    """

    key: tuple
    certificate_pem: str
    chain_pem: str
    private_key_der: bytes = field(repr=False)  # PKCS#8, unencrypted


@dataclass(frozen=True)
class Failure:
    """What the gateway's caller gets when the call to the back end fails."""

    status: int
    code: str
    message: str


class ContextError(Exception):
    """The client certificate, its key or a trusted CA certificate cannot be loaded."""


# Contexts -------------------------------------------------------------------------------------


def build_context(identity: ClientIdentity | None, validation: ServerValidation) -> ssl.SSLContext:
    """The backend's trusted CA certificates, when it lists any, are the only ones trusted for
    it; with none listed, the system's. Names are not checked here but after the handshake
    (check_name), so that name validation holds with chain validation off too."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = MINIMUM_VERSION
    # An uploaded intermediate CA is enough to trust the certificates it issued, as admins expect.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    try:
        cadata = "\n".join(pem.strip() for pem in validation.ca_certificates_pem if pem.strip())
        if cadata:
            context.load_verify_locations(cadata=cadata)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if identity is not None:
            _load_identity(context, identity)
    except (ssl.SSLError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ContextError(f"The TLS settings could not be loaded: {exc}") from exc
    # check_hostname goes first: CERT_NONE is refused while it is on.
    context.check_hostname = False
    if not validation.validate_chain:
        context.verify_mode = ssl.CERT_NONE
    return context


def _load_identity(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    """Load certificate, chain and key; the key never lies on disk in clear.

    load_cert_chain reads only files: give it an anonymous file in memory where the platform has
    one, else a temporary file holding the key encrypted with a one-time password.
    """
    key = serialization.load_der_private_key(identity.private_key_der, password=None)
    certificates = f"{identity.certificate_pem.strip()}\n{identity.chain_pem.strip()}\n".encode()
    memory = _memory_file()
    if memory is not None:
        with memory as file:
            file.write(certificates + _key_pem(key, serialization.NoEncryption()))
            file.flush()
            context.load_cert_chain(f"/proc/self/fd/{file.fileno()}")
        return
    password = secrets.token_urlsafe(32).encode()
    encrypted = _key_pem(key, serialization.BestAvailableEncryption(password))
    descriptor, path = tempfile.mkstemp(prefix="client-identity-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(certificates + encrypted)
        context.load_cert_chain(path, password=password)
    finally:
        os.unlink(path)


def _memory_file():
    if not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        descriptor = os.memfd_create("client-identity", os.MFD_CLOEXEC)
    except OSError:
        return None
    return os.fdopen(descriptor, "wb")


def _key_pem(key, encryption) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


# Clients --------------------------------------------------------------------------------------


class NameMismatch(ssl.SSLCertVerificationError):
    """The back end's certificate does not hold the name the gateway called it by."""

    verify_code = 62  # as OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, so failures read alike

    def __init__(self, message: str):
        super().__init__(message)
        self.verify_message = message


def check_name(ssl_object, hostname: str) -> None:
    """Name validation, after the handshake and before any request byte: the peer certificate
    must hold `hostname` (a DNS name or an IP address) in its subject alternative names."""
    der = ssl_object.getpeercert(True) if ssl_object is not None else None
    if not der:
        raise NameMismatch("the back end presented no certificate")
    certificate = x509.load_der_x509_certificate(der)
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        verify = service_identity.cryptography.verify_certificate_hostname
    else:
        verify = service_identity.cryptography.verify_certificate_ip_address
    try:
        verify(certificate, hostname)
    except (service_identity.VerificationError, service_identity.CertificateError) as exc:
        names = ", ".join(_subject_alternative_names(certificate)) or "none"
        raise NameMismatch(
            f"its certificate is for {names}, not {hostname}"
            if names != "none"
            else f"its certificate names no host ({exc})"
        ) from None


def _subject_alternative_names(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name) for name in names.get_values_for_type(x509.DNSName)] + [
        str(name) for name in names.get_values_for_type(x509.IPAddress)
    ]


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, plus name validation once the handshake is over."""

    def __init__(self, *, validate_name: bool, **kwargs):
        super().__init__(**kwargs)
        self._validate_name = validate_name

    async def _wrap_create_connection(self, *args, req, **kwargs):
        transport, protocol = await super()._wrap_create_connection(*args, req=req, **kwargs)
        hostname = kwargs.get("server_hostname")
        if self._validate_name and kwargs.get("ssl") and hostname:
            try:
                check_name(transport.get_extra_info("ssl_object"), hostname)
            except NameMismatch as exc:
                transport.close()
                raise aiohttp.ClientConnectorCertificateError(req.connection_key, exc) from exc
        return transport, protocol


class ClientPool:
    """One aiohttp session per (client certificate, server validation, timeout), least recently
    used first out, for one event loop. Its sessions keep their keep-alive connections to the
    back ends; a context is built once per key.

    An evicted session is closed, which breaks a call still running on it: keep max_size well
    above the number of certificates in use.
    """

    def __init__(self, max_size: int = 256):
        self.max_size = max_size
        self.contexts_built = 0
        self._sessions: OrderedDict[tuple, aiohttp.ClientSession] = OrderedDict()

    def get(
        self, identity: ClientIdentity | None, validation: ServerValidation, *, timeout: float
    ) -> aiohttp.ClientSession:
        key = (identity.key if identity else None, validation, timeout)
        session = self._sessions.get(key)
        if session is not None:
            self._sessions.move_to_end(key)
            return session
        session = _session(build_context(identity, validation), validation, timeout)
        self.contexts_built += 1
        self._sessions[key] = session
        while len(self._sessions) > self.max_size:
            evicted = self._sessions.popitem(last=False)[1]
            asyncio.get_running_loop().create_task(evicted.close())
        return session

    async def close(self) -> None:
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            await session.close()

    def __len__(self) -> int:
        return len(self._sessions)


def _session(context: ssl.SSLContext, validation: ServerValidation, timeout: float):
    # A session serves every caller of the gateway: it must never keep a back end's cookies
    # (they would go out with the next caller's request); Set-Cookie still reaches the caller.
    # trust_env off: an HTTPS_PROXY in the environment must not sit between the gateway and a
    # back end that authenticates it by its client certificate. Bodies are relayed as they come
    # (no decompression), and nothing is added to the caller's headers.
    return aiohttp.ClientSession(
        connector=_Connector(
            validate_name=validation.validate_name,
            ssl=context,
            limit=0,
            keepalive_timeout=30,
            enable_cleanup_closed=False,
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        auto_decompress=False,
        trust_env=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        requote_redirect_url=False,
    )


# Failures -------------------------------------------------------------------------------------

_HOST_MISMATCH = {62, 63, 64}  # X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_, _IP_ADDRESS_MISMATCH
_UNTRUSTED_ISSUER = {2, 18, 19, 20, 21, 27}  # no path to a trusted CA, or self-signed

# Alerts by which a back end refuses our client certificate. Under TLS 1.2 they end the
# handshake (a connection error); under TLS 1.3 our handshake is over before the back end has
# checked the certificate, so they arrive on the first read.
_REJECTION_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA": "it does not trust the CA that issued it",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad certificate",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "certificate unknown",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "it considers the certificate expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "it considers the certificate revoked",
    "TLSV1_ALERT_ACCESS_DENIED": "access denied",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "it requires a client certificate and got none",
}


def classify(exc: Exception, target: str = "(unknown)") -> Failure:
    """Map what a call to the back end raised to the answer the gateway gives; target is the
    back end's host and port (never its URL: a query or user part may hold secrets)."""
    chain = _causes(exc)
    for error in chain:
        if isinstance(error, ContextError):
            return Failure(500, "tls_configuration_error", str(error))
        # aiohttp's own errors are ssl errors too: the one it wraps tells what happened.
        if isinstance(error, aiohttp.ClientError):
            continue
        if isinstance(error, ssl.SSLCertVerificationError):
            return _untrusted_server(error, target)
        reason = getattr(error, "reason", None)
        if isinstance(error, ssl.SSLError) and reason in _REJECTION_ALERTS:
            return Failure(
                502,
                "client_certificate_rejected",
                f"The back end at {target} refused the client certificate: "
                f"{_REJECTION_ALERTS[reason]} ({reason}). Make sure the back end "
                "trusts the CA that issued the API's client certificate, and that the "
                "certificate is valid for client authentication.",
            )
    if _has(chain, TimeoutError):
        return Failure(504, "backend_timeout", f"The back end at {target} did not answer in time.")
    if _has(chain, ConnectionRefusedError):
        return Failure(
            502, "backend_unreachable", f"The back end at {target} refused the connection."
        )
    if _has(chain, socket.gaierror):
        return Failure(
            502,
            "backend_unreachable",
            f"The back end's host name could not be resolved ({target}).",
        )
    for error in chain:
        if isinstance(error, ssl.SSLError) and not isinstance(error, aiohttp.ClientError):
            reason = getattr(error, "reason", None)
            hint = ""
            if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE":
                hint = (
                    " It may require a client certificate, or accept no TLS version or cipher "
                    "that the gateway offers (TLS 1.2 or newer)."
                )
            return Failure(
                502,
                "backend_tls_error",
                f"The TLS handshake with the back end at {target} failed: {reason or error}.{hint}",
            )
    hint = ""
    if _has(chain, ConnectionResetError, aiohttp.ServerDisconnectedError):
        # Seen from a back end that drops the connection instead of sending a TLS alert.
        hint = " If it requires a client certificate, it may have refused the gateway's."
    return Failure(
        502,
        "backend_error",
        f"The call to the back end at {target} failed: {type(exc).__name__}: {exc}.{hint}",
    )


def _untrusted_server(error: ssl.SSLCertVerificationError, target: str) -> Failure:
    reason = error.verify_message or str(error)
    if error.verify_code in _HOST_MISMATCH:
        return Failure(
            500,
            "backend_certificate_name_mismatch",
            f"The certificate of the back end at {target} does not match its host name "
            f"({reason}). Call the back end by a name its certificate holds, or switch off "
            '"Validate certificate name" for the backend.',
        )
    fix = (
        "Trust the CA that issued it (upload it under CA certificates and add it to the "
        'backend), or switch off "Validate certificate chain" for the backend.'
    )
    if error.verify_code not in _UNTRUSTED_ISSUER:
        fix = 'Renew the back end\'s certificate, or switch off "Validate certificate chain".'
    return Failure(
        500,
        "backend_certificate_untrusted",
        f"The certificate of the back end at {target} is not trusted ({reason}). {fix}",
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain = []
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _has(chain: list[BaseException], *types: type) -> bool:
    return any(isinstance(error, types) for error in chain)


def validate_identity_dates(
    certificate: x509.Certificate | str, now: dt.datetime
) -> Failure | None:
    """A client certificate (parsed, or PEM) out of its validity period fails the call before
    any connection.

    now must be timezone-aware.
    """
    if isinstance(certificate, str):
        certificate = x509.load_pem_x509_certificate(certificate.encode())
    subject = certificate.subject.rfc4514_string()
    if now > certificate.not_valid_after_utc:
        expired = _timestamp(certificate.not_valid_after_utc)
        return Failure(
            500,
            "client_certificate_expired",
            f"The client certificate {subject} expired on {expired}. Upload a renewed "
            "certificate under the same id.",
        )
    if now < certificate.not_valid_before_utc:
        valid_from = _timestamp(certificate.not_valid_before_utc)
        return Failure(
            500,
            "client_certificate_expired",
            f"The client certificate {subject} is not valid before {valid_from}.",
        )
    return None


# Trace ----------------------------------------------------------------------------------------


def ssl_object_of(response: aiohttp.ClientResponse):
    """The TLS session an answer came over (None over plain http). A small answer read in full
    has already handed its connection back to the pool; its protocol still holds the transport.
    """
    connection = response.connection
    protocol = connection.protocol if connection is not None else response._protocol
    transport = protocol.transport if protocol is not None else None
    return transport.get_extra_info("ssl_object") if transport is not None else None


def describe_peer(ssl_object) -> dict:
    """The back end's certificate and the TLS session, for the Test console's trace.

    Takes the connection's ssl.SSLObject; {} when the call did not use TLS.
    """
    if ssl_object is None:
        return {}
    context = ssl_object.context
    trace = {
        "tls_version": ssl_object.version(),
        "cipher": (ssl_object.cipher() or (None,))[0],
        "session_reused": ssl_object.session_reused,
        "chain_validated": context.verify_mode == ssl.CERT_REQUIRED,
    }
    # The parsed form is empty when the chain was not verified: parse the DER ourselves.
    der = ssl_object.getpeercert(True)
    if der:
        certificate = x509.load_der_x509_certificate(der)
        trace |= {
            "subject": certificate.subject.rfc4514_string(),
            "issuer": certificate.issuer.rfc4514_string(),
            "not_after": _timestamp(certificate.not_valid_after_utc),
            "thumbprint": hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        }
    return trace


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

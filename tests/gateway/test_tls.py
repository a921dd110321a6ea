import asyncio
import datetime as dt
import hashlib
import itertools
import json
import os
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest
import uvloop

from gateway.tls import (
    ClientIdentity,
    ClientPool,
    ContextError,
    Failure,
    ServerValidation,
    build_context,
    classify,
    describe_peer,
    ssl_object_of,
    validate_identity_dates,
)
from tests import pki
from tests.gateway.backend_server import BackendServer, refused_port

TLS_1_2 = ssl.TLSVersion.TLSv1_2
TLS_1_3 = ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True)
class Certificates:
    server_ca: pki.Issuer
    client_root: pki.Issuer
    client_intermediate: pki.Issuer
    rogue_ca: pki.Issuer
    backend: pki.Leaf  # issued by server_ca for 127.0.0.1
    self_signed: pki.Leaf
    other_name: pki.Leaf  # issued by server_ca for other.example only
    client: pki.Leaf  # issued by client_intermediate
    rogue_client: pki.Leaf


@pytest.fixture(scope="module")
def certificates():
    server_ca = pki.make_ca("Backend Test CA", pki.ec_key())
    client_root = pki.make_ca("Client Root CA", pki.ec_key())
    client_intermediate = pki.make_ca("Client Issuing CA", pki.ec_key(), issuer=client_root)
    rogue_ca = pki.make_ca("Rogue CA", pki.ec_key())
    return Certificates(
        server_ca=server_ca,
        client_root=client_root,
        client_intermediate=client_intermediate,
        rogue_ca=rogue_ca,
        backend=pki.make_leaf(server_ca, "backend.test", key_type="ec", sans=["127.0.0.1"]),
        self_signed=pki.make_leaf(None, "self-signed.test", key_type="ec", sans=["127.0.0.1"]),
        other_name=pki.make_leaf(server_ca, "other.example", key_type="ec", sans=["other.example"]),
        client=pki.make_leaf(client_intermediate, "gateway client", key_type="ec"),
        rogue_client=pki.make_leaf(rogue_ca, "rogue client", key_type="ec"),
    )


class Loop:
    """An event loop in a thread of its own (uvloop, as the gateway's server runs): a test's
    thread may already run one (Playwright's)."""

    def __init__(self):
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run_until_complete(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def loop():
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture
def pool(loop):
    pool = ClientPool()
    pool.loop = loop
    yield pool
    loop.run_until_complete(pool.close())


@pytest.fixture
def start_backend(tmp_path, certificates):
    servers = []

    def start(certificate=None, **options):
        options.setdefault("client_cas", [certificates.client_root])
        directory = tmp_path / f"backend-{len(servers)}"
        server = BackendServer(directory, certificate or certificates.backend, **options)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def identity(leaf, *chain, key=None):
    return ClientIdentity(
        key=key or ("client-cert", 1, thumbprint(leaf)),
        certificate_pem=pki.certificate_pem(leaf).decode(),
        chain_pem="".join(pki.certificate_pem(item).decode() for item in chain),
        private_key_der=pki.key_der(leaf),
    )


def thumbprint(leaf):
    return hashlib.sha1(pki.certificate_der(leaf)).hexdigest().upper()


def trusting(*cas, **options):
    pems = tuple(pki.certificate_pem(ca).decode() for ca in cas)
    return ServerValidation(ca_certificates_pem=pems, **options)


@dataclass
class Answer:
    status_code: int
    body: bytes
    ssl_object: object

    def json(self):
        return json.loads(self.body)


def call(pool, client_identity, validation, url, *, timeout=5.0):
    """What the gateway does: check the dates, then call through the pool, mapping failures."""
    if client_identity is not None:
        failure = validate_identity_dates(client_identity.certificate_pem, dt.datetime.now(dt.UTC))
        if failure:
            return failure

    async def get():
        async with pool.get(client_identity, validation, timeout=timeout).get(url) as response:
            body = await response.read()
            return Answer(response.status, body, ssl_object_of(response))

    try:
        return pool.loop.run_until_complete(get())
    except (aiohttp.ClientError, OSError, TimeoutError, ContextError) as exc:
        return classify(exc, url.split("/")[2])


# Mutual TLS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_it_presents_the_client_certificate(start_backend, pool, certificates, key_type):
    leaf = pki.make_leaf(certificates.client_intermediate, "gateway client", key_type=key_type)
    backend = start_backend()
    client_identity = identity(leaf, certificates.client_intermediate)

    response = call(pool, client_identity, trusting(certificates.server_ca), backend.url + "/a?b=1")

    assert response.status_code == 200
    echo = response.json()
    assert echo["path"] == "/a"
    assert echo["query"] == {"b": ["1"]}
    assert echo["client_certificate"]["thumbprint"] == thumbprint(leaf)
    assert "CN=gateway client" in echo["client_certificate"]["subject"]


def test_it_sends_the_chain(start_backend, pool, certificates):
    backend = start_backend()
    without_chain = identity(certificates.client)

    failure = call(pool, without_chain, trusting(certificates.server_ca), backend.url)

    assert failure.code == "client_certificate_rejected"


def test_it_describes_the_back_end_for_the_trace(start_backend, pool, certificates):
    backend = start_backend()
    client_identity = identity(certificates.client, certificates.client_intermediate)

    response = call(pool, client_identity, trusting(certificates.server_ca), backend.url)

    trace = describe_peer(response.ssl_object)
    assert trace["subject"] == certificates.backend.certificate.subject.rfc4514_string()
    assert trace["issuer"] == certificates.server_ca.certificate.subject.rfc4514_string()
    assert trace["thumbprint"] == thumbprint(certificates.backend)
    assert trace["not_after"].endswith("Z")
    assert trace["tls_version"] == "TLSv1.3"
    assert trace["chain_validated"] is True


# Verifying the back end -----------------------------------------------------------------------


def test_it_trusts_the_backends_ca_certificates(start_backend, pool, certificates):
    backend = start_backend(require_client_certificate=False)

    assert call(pool, None, trusting(), backend.url).code == "backend_certificate_untrusted"
    assert call(pool, None, trusting(certificates.server_ca), backend.url).status_code == 200


def test_it_refuses_a_self_signed_back_end(start_backend, pool, certificates):
    backend = start_backend(certificates.self_signed, require_client_certificate=False)

    failure = call(pool, None, trusting(certificates.server_ca), backend.url)

    assert failure.status == 500
    assert failure.code == "backend_certificate_untrusted"
    assert "self-signed certificate" in failure.message
    assert "CA certificates" in failure.message
    assert '"Validate certificate chain"' in failure.message
    assert backend.handshakes == 0


def test_it_accepts_a_self_signed_back_end_without_chain_validation(
    start_backend, pool, certificates
):
    backend = start_backend(certificates.self_signed)
    client_identity = identity(certificates.client, certificates.client_intermediate)
    validation = ServerValidation(validate_chain=False)

    response = call(pool, client_identity, validation, backend.url)

    assert response.status_code == 200
    assert response.json()["client_certificate"]["thumbprint"] == thumbprint(certificates.client)
    trace = describe_peer(response.ssl_object)
    assert trace["subject"] == certificates.self_signed.certificate.subject.rfc4514_string()
    assert trace["chain_validated"] is False


def test_it_refuses_a_back_end_with_another_name(start_backend, pool, certificates):
    backend = start_backend(certificates.other_name, require_client_certificate=False)

    failure = call(pool, None, trusting(certificates.server_ca), backend.url)

    assert failure.status == 500
    assert failure.code == "backend_certificate_name_mismatch"
    assert "127.0.0.1" in failure.message
    assert '"Validate certificate name"' in failure.message


def test_it_accepts_another_name_without_name_validation(start_backend, pool, certificates):
    backend = start_backend(certificates.other_name, require_client_certificate=False)
    validation = trusting(certificates.server_ca, validate_name=False)

    response = call(pool, None, validation, backend.url)

    assert response.status_code == 200
    assert describe_peer(response.ssl_object)["chain_validated"] is True


def test_it_still_validates_the_chain_without_name_validation(start_backend, pool, certificates):
    backend = start_backend(certificates.self_signed, require_client_certificate=False)

    failure = call(pool, None, ServerValidation(validate_name=False), backend.url)

    assert failure.code == "backend_certificate_untrusted"


def test_name_validation_holds_with_chain_validation_off(start_backend, pool, certificates):
    # The usual self-signed set-up: chain off, name on. A back end with another name is
    # refused after the handshake, before any byte of the request leaves.
    backend = start_backend(certificates.other_name, require_client_certificate=False)

    failure = call(pool, None, ServerValidation(validate_chain=False), backend.url)

    assert failure.status == 500
    assert failure.code == "backend_certificate_name_mismatch"
    assert "other.example" in failure.message
    assert backend.connections == 1
    assert backend.requests == []


def test_a_self_signed_back_end_with_the_right_name_passes_name_validation(
    start_backend, pool, certificates
):
    backend = start_backend(certificates.self_signed, require_client_certificate=False)

    response = call(pool, None, ServerValidation(validate_chain=False), backend.url)

    assert response.status_code == 200


def test_listed_ca_certificates_are_the_only_trust(
    start_backend, pool, certificates, tmp_path, monkeypatch
):
    # Make the back end's CA a "system" root: trusted with no list, not with another CA listed.
    system = tmp_path / "system-roots.pem"
    system.write_bytes(pki.certificate_pem(certificates.server_ca))
    monkeypatch.setenv("SSL_CERT_FILE", str(system))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "none"))
    backend = start_backend(require_client_certificate=False)

    assert call(pool, None, ServerValidation(), backend.url).status_code == 200
    failure = call(pool, None, trusting(certificates.rogue_ca), backend.url)
    assert failure.code == "backend_certificate_untrusted"


# The back end refusing us ---------------------------------------------------------------------


@pytest.mark.parametrize("tls_version", [TLS_1_2, TLS_1_3], ids=["TLSv1.2", "TLSv1.3"])
def test_it_reports_a_refused_client_certificate(start_backend, pool, certificates, tls_version):
    backend = start_backend(tls_version=tls_version)

    # Under TLS 1.2 the alert ends the handshake; under TLS 1.3 it comes on the first read.
    failure = call(
        pool, identity(certificates.rogue_client), trusting(certificates.server_ca), backend.url
    )

    assert failure.status == 502
    assert failure.code == "client_certificate_rejected"
    assert failure.message.startswith("The back end at 127.0.0.1:")
    assert "refused the client certificate" in failure.message
    assert "TLSV1_ALERT_UNKNOWN_CA" in failure.message
    assert backend.handshakes == 0
    assert backend.requests == []


@pytest.mark.parametrize(
    ("tls_version", "code", "says"),
    [
        (TLS_1_2, "backend_tls_error", "may require a client certificate"),
        (TLS_1_3, "client_certificate_rejected", "requires a client certificate"),
    ],
    ids=["TLSv1.2", "TLSv1.3"],
)
def test_it_reports_a_missing_client_certificate(
    start_backend, pool, certificates, tls_version, code, says
):
    backend = start_backend(tls_version=tls_version)

    failure = call(pool, None, trusting(certificates.server_ca), backend.url)

    assert failure.status == 502
    assert failure.code == code
    assert says in failure.message


def test_it_reports_a_refused_connection(pool):
    url = f"https://127.0.0.1:{refused_port()}/"

    failure = call(pool, None, ServerValidation(), url)

    assert failure == Failure(
        502, "backend_unreachable", f"The back end at {url[8:-1]} refused the connection."
    )


def test_it_reports_a_slow_back_end(start_backend, pool, certificates):
    backend = start_backend(require_client_certificate=False, delay=5)

    failure = call(pool, None, trusting(certificates.server_ca), backend.url, timeout=0.3)

    assert failure.status == 504
    assert failure.code == "backend_timeout"


def test_it_refuses_an_expired_client_certificate_before_connecting(
    start_backend, pool, certificates
):
    backend = start_backend()
    now = dt.datetime.now(dt.UTC)
    expired = pki.make_leaf(
        certificates.client_intermediate,
        "expired client",
        key_type="ec",
        not_before=now - dt.timedelta(days=400),
        not_after=now - dt.timedelta(days=1),
    )

    failure = call(pool, identity(expired), trusting(certificates.server_ca), backend.url)

    assert failure.status == 500
    assert failure.code == "client_certificate_expired"
    assert "expired on" in failure.message
    assert backend.connections == 0
    assert pool.contexts_built == 0


def test_it_refuses_a_client_certificate_not_yet_valid():
    now = dt.datetime.now(dt.UTC)
    leaf = pki.make_leaf(None, "future", key_type="ec", not_before=now + dt.timedelta(days=2))

    failure = validate_identity_dates(pki.certificate_pem(leaf).decode(), now)

    assert failure.code == "client_certificate_expired"
    assert "not valid before" in failure.message
    assert (
        validate_identity_dates(pki.certificate_pem(leaf).decode(), now + dt.timedelta(3)) is None
    )


# The pool -------------------------------------------------------------------------------------


def test_it_reuses_one_connection_and_context(start_backend, pool, certificates):
    backend = start_backend()
    client_identity = identity(certificates.client, certificates.client_intermediate)
    validation = trusting(certificates.server_ca)

    for _ in range(5):
        assert call(pool, client_identity, validation, backend.url).status_code == 200

    assert backend.handshakes == 1
    assert pool.contexts_built == 1
    assert len(backend.requests) == 5


def test_a_replaced_certificate_is_used_on_the_next_call(start_backend, pool, certificates):
    backend = start_backend()
    validation = trusting(certificates.server_ca)
    old = identity(certificates.client, certificates.client_intermediate)
    renewed_leaf = pki.make_leaf(certificates.client_intermediate, "gateway client", key_type="ec")
    renewed = identity(
        renewed_leaf,
        certificates.client_intermediate,
        key=("client-cert", 2, thumbprint(renewed_leaf)),
    )
    call(pool, old, validation, backend.url)

    response = call(pool, renewed, validation, backend.url)

    assert response.json()["client_certificate"]["thumbprint"] == thumbprint(renewed_leaf)
    assert backend.handshakes == 2
    assert pool.contexts_built == 2


def test_it_closes_the_least_recently_used_session(loop):
    pool = ClientPool(max_size=2)

    async def fill():
        first = pool.get(None, ServerValidation(), timeout=1)
        second = pool.get(None, ServerValidation(validate_name=False), timeout=1)
        assert pool.get(None, ServerValidation(), timeout=1) is first
        pool.get(None, ServerValidation(validate_chain=False), timeout=1)
        await asyncio.sleep(0)  # the eviction closes the session in a task
        assert len(pool) == 2
        assert second.closed
        assert not first.closed
        await pool.close()
        assert first.closed
        assert len(pool) == 0

    loop.run_until_complete(fill())


# The private key stays off the disk -----------------------------------------------------------


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The temporary directory, and every call to load_cert_chain with what it read."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    loads = []
    load_cert_chain = ssl.SSLContext.load_cert_chain

    def spy(context, certfile, keyfile=None, password=None):
        if context.protocol == ssl.PROTOCOL_TLS_CLIENT:  # not the test back ends
            data = Path(certfile).read_bytes()
            loads.append({"path": str(certfile), "data": data, "password": password})
        return load_cert_chain(context, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    return directory, loads


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="memfd_create is Linux only")
def test_it_keeps_the_private_key_in_memory(start_backend, certificates, scratch, monkeypatch):
    backend = start_backend()
    directory, loads = scratch
    descriptors = []
    memfd_create = os.memfd_create

    def spy(name, flags=os.MFD_CLOEXEC):
        descriptors.append(memfd_create(name, flags))
        return descriptors[-1]

    monkeypatch.setattr(os, "memfd_create", spy)
    open_before = len(os.listdir("/proc/self/fd"))

    context = build_context(
        identity(certificates.client, certificates.client_intermediate),
        trusting(certificates.server_ca),
    )

    assert len(descriptors) == 1
    assert [load["path"] for load in loads] == [f"/proc/self/fd/{descriptors[0]}"]
    assert b"-----BEGIN PRIVATE KEY-----" in loads[0]["data"]
    assert len(os.listdir("/proc/self/fd")) == open_before
    assert list(directory.iterdir()) == []
    with httpx.Client(verify=context) as client:
        echo = client.get(backend.url).json()
    assert echo["client_certificate"]["thumbprint"] == thumbprint(certificates.client)


def test_without_memfd_it_encrypts_the_key_in_a_temporary_file(
    start_backend, certificates, scratch, monkeypatch
):
    backend = start_backend()
    directory, loads = scratch

    def unavailable(*args):
        raise OSError("memfd_create is not permitted here")

    monkeypatch.setattr(os, "memfd_create", unavailable)

    context = build_context(
        identity(certificates.client, certificates.client_intermediate),
        trusting(certificates.server_ca),
    )

    [load] = loads
    assert Path(load["path"]).parent == directory
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in load["data"]
    assert b"-----BEGIN PRIVATE KEY-----" not in load["data"]
    assert len(load["password"]) >= 32
    assert list(directory.iterdir()) == []
    with httpx.Client(verify=context) as client:
        echo = client.get(backend.url).json()
    assert echo["client_certificate"]["thumbprint"] == thumbprint(certificates.client)


def test_it_refuses_a_key_that_does_not_match(certificates):
    mismatched = ClientIdentity(
        key=("mismatched", 1),
        certificate_pem=pki.certificate_pem(certificates.client).decode(),
        chain_pem="",
        private_key_der=pki.key_der(certificates.rogue_client),
    )

    with pytest.raises(ContextError) as error:
        build_context(mismatched, ServerValidation())

    assert classify(error.value).status == 500
    assert classify(error.value).code == "tls_configuration_error"


def test_it_requires_tls_1_2_or_newer():
    context = build_context(None, ServerValidation())

    assert context.minimum_version == TLS_1_2
    assert context.verify_mode == ssl.CERT_REQUIRED
    # Names are checked after the handshake, with or without chain validation (check_name).
    assert not context.check_hostname


# Classifying failures that the servers above do not produce ------------------------------------


def chained(*exceptions):
    """The first exception, caused by the second, caused by the third..."""
    for outer, inner in itertools.pairwise(exceptions):
        outer.__cause__ = inner
    return exceptions[0]


def test_it_classifies_a_name_that_does_not_resolve():
    exc = chained(
        httpx.ConnectError("no such host"), socket.gaierror(-2, "Name or service not known")
    )

    assert classify(exc).status == 502
    assert classify(exc).code == "backend_unreachable"
    assert "could not be resolved" in classify(exc).message


def test_it_classifies_a_connect_timeout():
    exc = chained(httpx.ConnectTimeout("timed out"), TimeoutError("handshake timed out"))

    assert classify(exc).code == "backend_timeout"


def test_it_classifies_a_dropped_connection():
    exc = chained(httpx.ReadError("reset"), ConnectionResetError(104, "Connection reset by peer"))

    failure = classify(exc)

    assert failure.status == 502
    assert failure.code == "backend_error"
    assert "may have refused" in failure.message


def test_it_classifies_other_tls_errors():
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    exc = chained(httpx.ConnectError("tls"), error)

    assert classify(exc).code == "backend_tls_error"
    assert "WRONG_VERSION_NUMBER" in classify(exc).message


def test_it_classifies_the_rest_as_a_back_end_error():
    failure = classify(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    assert failure.status == 502
    assert failure.code == "backend_error"

import datetime as dt
import ssl

import pytest

from accounts.tokens import issue_token
from apis import actions
from apis.models import Operation
from certificates.actions import import_ca_certificate, import_certificate
from gateway import forwarding
from tests import pki
from tests.gateway.backend_server import BackendServer
from tests.gateway.gateway_server import GatewayServer


@pytest.fixture(autouse=True)
def _fresh_worker(monkeypatch):
    # Each test starts with no decrypted keys nor presence notes, as a new worker would.
    monkeypatch.setattr(forwarding, "_presented", {})
    monkeypatch.setattr(forwarding, "_identities", {})


@pytest.fixture
def gateway(transactional_db):
    """The gateway's server on a free port of 127.0.0.1, with fresh caches."""
    server = GatewayServer().start()
    yield server
    server.stop()


@pytest.fixture
def token(administrator):
    """An administrator's API token."""
    return issue_token(administrator, "gateway caller")[1]


@pytest.fixture
def caller(gateway, token):
    """An HTTP client of the gateway that presents the administrator's token."""
    with gateway.client(token) as client:
        yield client


@pytest.fixture
def server_ca():
    return pki.make_ca("Backend Test CA")


@pytest.fixture
def client_ca():
    return pki.make_ca("Client Test CA")


@pytest.fixture
def start_backend(tmp_path, server_ca, client_ca):
    """Start a real mutual-TLS back end on 127.0.0.1; stopped at the end of the test."""
    servers = []

    def start(
        *,
        certificate=None,
        client_cas=None,
        tls_version=None,
        delay=0,
        require_client_certificate=True,
    ):
        directory = tmp_path / f"server{len(servers)}"
        directory.mkdir()
        server = BackendServer(
            directory,
            certificate or pki.make_leaf(server_ca, "127.0.0.1", sans=("127.0.0.1",)),
            client_cas=[client_ca] if client_cas is None else client_cas,
            tls_version=tls_version,
            delay=delay,
            require_client_certificate=require_client_certificate,
        ).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def client_certificate(db, client_ca):
    leaf = pki.make_leaf(client_ca, "gateway.client.test")
    return import_certificate(
        "gateway-client", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate


@pytest.fixture
def expired_certificate(db, client_ca):
    """A client certificate that expired 90 days ago."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    leaf = pki.make_leaf(
        client_ca, "old.client.test", not_before=past, not_after=past + dt.timedelta(days=10)
    )
    return import_certificate(
        "old", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate


@pytest.fixture
def trusted_ca(db, server_ca):
    return import_ca_certificate("backend-ca", pki.certificate_pem(server_ca))


@pytest.fixture
def make_api(db):
    def make(service_url, *, certificate=None, path="orders"):
        api = actions.create_api(display_name=f"API {path}", service_url=service_url, path=path)
        Operation.objects.create(
            api=api,
            name="get-order",
            display_name="Get order",
            method="GET",
            url_template="/orders/{orderId}",
        )
        Operation.objects.create(
            api=api,
            name="create-order",
            display_name="Create order",
            method="POST",
            url_template="/orders",
        )
        if certificate is not None:
            api = actions.set_gateway_credentials(
                api,
                actions.GatewayCredentials(kind="certificate", certificate=certificate),
                version=None,
            )
        return api

    return make


@pytest.fixture
def make_backend(db):
    def make(url, *, ca_certificates=(), chain=True, name=True, certificates=()):
        from apis.models import Backend

        return actions.save_backend(
            Backend(
                name="test-backend",
                url=url,
                validate_certificate_chain=chain,
                validate_certificate_name=name,
            ),
            ca_certificates=list(ca_certificates),
            client_certificates=list(certificates),
        )

    return make


TLS_VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.fixture
def served(start_backend, make_api, make_backend, client_certificate, trusted_ca):
    """A mutual-TLS back end on 127.0.0.1, a backend that trusts its CA, and the API "orders"
    that presents the client certificate to it; the back end's server."""
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=client_certificate)
    return server

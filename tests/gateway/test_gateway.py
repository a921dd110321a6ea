"""The gateway against real mutual-TLS back ends on 127.0.0.1."""

import datetime as dt
import json
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from apis import actions
from certificates.actions import import_certificate
from certificates.models import Certificate
from gateway import forwarding
from tests import pki
from tests.gateway.backend_server import refused_port
from tests.gateway.conftest import TLS_VERSIONS

pytestmark = pytest.mark.django_db


def body_of(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def call(client, path, method="get", **kwargs):
    response = getattr(client, method)(f"/gateway/{path}", **kwargs)
    return response, json.loads(body_of(response) or b"null")


def test_it_calls_the_back_end_over_mutual_tls(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(f"{server.url}/v1", certificate=client_certificate)
    response, echo = call(
        admin_client, "orders/orders/42?expand=lines", headers={"X-Custom": "kept"}
    )
    assert response.status_code == 200
    assert echo["path"] == "/v1/orders/42"
    assert echo["query"] == {"expand": ["lines"]}
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint
    headers = {name.lower(): value for name, value in echo["headers"].items()}
    assert headers["x-custom"] == "kept"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "testserver"
    assert "sessionid" not in headers.get("cookie", "")
    assert headers["x-request-id"] == response["X-Request-Id"]
    client_certificate.refresh_from_db()
    assert client_certificate.last_presented_at is not None


def test_small_answers_are_read_whole_and_large_ones_streamed(admin_client, served):
    from gateway.views import BUFFERED_BODY_BYTES

    small, echo = call(admin_client, "orders/orders/1")
    assert not small.streaming
    assert int(small["Content-Length"]) == len(small.content)
    assert echo["path"] == "/orders/1"
    payload = "x" * (BUFFERED_BODY_BYTES + 1)
    large, echo = call(
        admin_client, "orders/orders", method="post", data=payload, content_type="text/plain"
    )
    assert large.status_code == 200
    assert large.streaming
    assert large["Content-Type"] == "application/json"
    assert echo["body"] == payload
    assert served.connections == 1  # the same kept-alive connection for both


def set_cookie_lines(response) -> list[str]:
    """The Set-Cookie lines the WSGI handler sends, as they are."""
    return [value for name, value in response.items() if name == "Set-Cookie"]


def test_a_back_ends_cookies_reach_their_caller_and_no_other(admin_client, reviewer, served):
    from django.contrib.auth.models import Permission
    from django.test import Client

    sent = [
        "backend_session=alice-secret; Path=/; HttpOnly; Partitioned; Priority=High",
        "theme=dark",
        "sessionid=planted-by-the-back-end",  # the portal's own cookie: never from a back end
    ]
    query = "&".join(f"set-cookie={quote(line)}" for line in sent)
    response, _ = call(admin_client, f"orders/orders/1?{query}")
    assert response.status_code == 200
    assert set_cookie_lines(response) == sent[:2]  # as they came, attributes and all
    reviewer.user_permissions.add(Permission.objects.get(codename="call_api"))
    other = Client()
    other.force_login(reviewer)
    response, echo = call(other, "orders/orders/2")
    assert response.status_code == 200
    assert "cookie" not in echo["headers"]
    assert set_cookie_lines(response) == []


def test_the_back_ends_content_type_replaces_the_default(admin_client, served):
    small, _ = call(admin_client, "orders/orders/1")
    assert small["Content-Type"] == "application/json"
    assert small.json()["path"] == "/orders/1"


def test_a_body_cut_short_is_a_502_in_json(admin_client, served):
    response, error = call(admin_client, "orders/orders/1?short-body=1")
    assert response.status_code == 502
    assert error["requestId"] == response["X-Request-Id"]
    assert error["error"]["code"]


def test_the_body_is_forwarded_and_capped(admin_client, settings, served):
    response, echo = call(
        admin_client, "orders/orders", "post", data=b'{"item": 1}', content_type="application/json"
    )
    assert response.status_code == 200
    assert echo["method"] == "POST"
    assert echo["body"] == '{"item": 1}'
    settings.GATEWAY_MAX_BODY_BYTES = 4
    response, error = call(
        admin_client, "orders/orders", "post", data=b"12345", content_type="text/plain"
    )
    assert response.status_code == 413
    assert error["error"]["code"] == "body_too_large"


def test_an_untrusted_back_end_answers_500_with_both_fixes(
    admin_client, start_backend, make_api, client_certificate
):
    server = start_backend()
    make_api(server.url, certificate=client_certificate)
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "backend_certificate_untrusted"
    message = error["error"]["message"]
    assert "CA certificates" in message
    assert "Validate certificate chain" in message
    assert error["requestId"] == response["X-Request-Id"]


def test_chain_validation_off_accepts_a_self_signed_back_end(
    admin_client, start_backend, make_api, make_backend, client_certificate
):
    self_signed = pki.make_leaf(None, "127.0.0.1", sans=("127.0.0.1",))
    server = start_backend(certificate=self_signed)
    make_api(server.url, certificate=client_certificate)
    assert call(admin_client, "orders/orders/1")[0].status_code == 500
    make_backend(server.url, chain=False)
    response, echo = call(admin_client, "orders/orders/1")
    assert response.status_code == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_name_validation(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca, server_ca
):
    wrong_name = pki.make_leaf(server_ca, "other.example", sans=("other.example",))
    server = start_backend(certificate=wrong_name)
    make_api(server.url, certificate=client_certificate)
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "backend_certificate_name_mismatch"
    backend.validate_certificate_name = False
    actions.save_backend(backend, ca_certificates=[trusted_ca], client_certificates=[])
    assert call(admin_client, "orders/orders/1")[0].status_code == 200


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls1.2", "tls1.3"])
def test_a_refused_client_certificate_answers_502(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca, version
):
    server = start_backend(client_cas=[pki.make_ca("Someone Else's CA")], tls_version=version)
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=client_certificate)
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 502
    assert error["error"]["code"] == "client_certificate_rejected"
    assert "refused the client certificate" in error["error"]["message"]


def test_an_expired_client_certificate_answers_500_before_connecting(
    admin_client, start_backend, make_api, make_backend, trusted_ca, client_ca
):
    server = start_backend()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    leaf = pki.make_leaf(
        client_ca, "old.client.test", not_before=past, not_after=past + dt.timedelta(days=10)
    )
    expired = import_certificate(
        "old", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=expired)
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_expired"
    assert server.connections == 0


def test_an_undecryptable_key_fails_closed(admin_client, settings, served):
    from certificates.keystore import KeyRing

    settings.PORTAL_KEYRING = KeyRing.generate_entry("other")
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_unavailable"
    assert served.connections == 0


def test_the_key_is_decrypted_once_but_the_dates_are_checked_on_every_call(
    admin_client, client_certificate, monkeypatch, served
):
    decrypted = []
    original = Certificate.private_key_der
    monkeypatch.setattr(
        Certificate, "private_key_der", lambda self: decrypted.append(1) or original(self)
    )
    for _ in range(3):
        assert call(admin_client, "orders/orders/1")[0].status_code == 200
    assert len(decrypted) == 1
    later = client_certificate.not_after + dt.timedelta(seconds=1)
    monkeypatch.setattr(forwarding, "timezone", SimpleNamespace(now=lambda: later))
    response, error = call(admin_client, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_expired"
    assert served.connections == 1


def test_connection_refused_and_timeout(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca, settings
):
    make_api(f"https://127.0.0.1:{refused_port()}", certificate=client_certificate)
    response, error = call(admin_client, "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (502, "backend_unreachable")

    slow = start_backend(delay=3)
    make_backend(slow.url, ca_certificates=[trusted_ca])
    make_api(slow.url, certificate=client_certificate, path="slow")
    settings.GATEWAY_TIMEOUT_SECONDS = 0.5
    response, error = call(admin_client, "slow/orders/1")
    assert (response.status_code, error["error"]["code"]) == (504, "backend_timeout")


def test_unknown_api_and_operation_answer_404(admin_client, make_api):
    make_api("https://127.0.0.1:1")
    response, error = call(admin_client, "nothing/here")
    assert (response.status_code, error["error"]["code"]) == (404, "api_not_found")
    response, error = call(admin_client, "orders/customers/1")
    assert (response.status_code, error["error"]["code"]) == (404, "operation_not_found")
    response, error = call(admin_client, "orders/orders/1", "delete")
    assert response.status_code == 404


def test_a_replaced_certificate_is_presented_on_the_next_call(
    admin_client, client_certificate, client_ca, served
):
    first = call(admin_client, "orders/orders/1")[1]
    renewed = pki.make_leaf(client_ca, "gateway.client.test")
    import_certificate("gateway-client", pki.make_pfx(renewed), pki.DEFAULT_PASSWORD, replace=True)
    second = call(admin_client, "orders/orders/1")[1]
    new_thumbprint = Certificate.objects.get(name="gateway-client").thumbprint
    assert first["client_certificate"]["thumbprint"] == client_certificate.thumbprint
    assert (
        second["client_certificate"]["thumbprint"]
        == new_thumbprint
        != client_certificate.thumbprint
    )


def test_connections_are_reused_once_warm(admin_client, served):
    for _ in range(5):
        assert call(admin_client, "orders/orders/1")[0].status_code == 200
    assert served.handshakes == 1
    assert forwarding.pool.contexts_built == 1


def test_the_backend_certificate_is_used_when_the_api_has_none(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca], certificates=[client_certificate])
    make_api(server.url)
    response, echo = call(admin_client, "orders/orders/1")
    assert response.status_code == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_only_administrators_call_through_the_gateway(client, reviewer, make_api):
    make_api("https://127.0.0.1:1")
    response, error = call(client, "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (401, "unauthenticated")
    client.force_login(reviewer)
    response, error = call(client, "orders/orders/1")
    assert response.status_code == 403


def test_a_back_end_killed_mid_request_answers_502(
    admin_client, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    import threading

    server = start_backend(delay=5)
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=client_certificate)

    def kill_once_the_request_arrived():
        deadline = time.monotonic() + 5
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        server.stop()

    killer = threading.Thread(target=kill_once_the_request_arrived)
    killer.start()
    response, error = call(admin_client, "orders/orders/1")
    killer.join()
    assert server.requests, "the back end never saw the request"
    assert response.status_code == 502
    assert error["error"]["code"] in {"backend_error", "backend_unreachable"}
    assert "Traceback" not in error["error"]["message"]


def test_scripts_call_the_gateway_with_an_api_token(client, administrator, reviewer, served):
    from accounts.tokens import issue_token

    _, token = issue_token(administrator, "gateway script")
    response, echo = call(
        client,
        "orders/orders",
        "post",
        data=b"{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200  # a token needs no CSRF token
    headers = {name.lower() for name in echo["headers"]}
    assert "authorization" not in headers  # the portal's token never reaches the back end
    _, reviewer_token = issue_token(reviewer, "read only")
    response, _ = call(
        client, "orders/orders/1", headers={"Authorization": f"Bearer {reviewer_token}"}
    )
    assert response.status_code == 403
    response, _ = call(client, "orders/orders/1", headers={"Authorization": "Bearer cpt_wrong"})
    assert response.status_code == 401


def test_the_callers_own_authorization_header_reaches_the_back_end(admin_client, served):
    response, echo = call(
        admin_client, "orders/orders/1", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert response.status_code == 200
    assert echo["headers"]["authorization"] == "Basic dXNlcjpwYXNz"

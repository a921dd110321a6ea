"""The gateway's server against real mutual-TLS back ends on 127.0.0.1, called with a token."""

import datetime as dt
import json
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from accounts.tokens import issue_token
from apis import actions
from certificates.actions import import_certificate
from certificates.models import Certificate
from gateway import forwarding
from gateway.server import BUFFERED_BODY_BYTES
from tests import pki
from tests.gateway.backend_server import refused_port
from tests.gateway.conftest import TLS_VERSIONS

pytestmark = pytest.mark.django_db(transaction=True)


def call(client, path, method="get", **kwargs):
    response = client.request(method.upper(), f"/{path}", **kwargs)
    return response, json.loads(response.content or b"null")


def test_it_calls_the_back_end_over_mutual_tls(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(f"{server.url}/v1", certificate=client_certificate)
    response, echo = call(caller, "orders/orders/42?expand=lines", headers={"X-Custom": "kept"})
    assert response.status_code == 200
    assert echo["path"] == "/v1/orders/42"
    assert echo["query"] == {"expand": ["lines"]}
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint
    headers = {name.lower(): value for name, value in echo["headers"].items()}
    assert headers["x-custom"] == "kept"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == caller.base_url.netloc.decode()
    assert "authorization" not in headers  # the portal's token never reaches a back end
    assert headers["x-request-id"] == response.headers["X-Request-Id"]
    deadline = time.monotonic() + 5  # written beside the call, not on its path
    while client_certificate.last_presented_at is None and time.monotonic() < deadline:
        time.sleep(0.05)
        client_certificate.refresh_from_db()
    assert client_certificate.last_presented_at is not None


def test_small_and_large_bodies_both_ways(caller, served):
    small, echo = call(caller, "orders/orders/1")
    assert int(small.headers["Content-Length"]) == len(small.content)
    assert echo["path"] == "/orders/1"
    payload = "x" * (BUFFERED_BODY_BYTES + 1)
    large, echo = call(
        caller,
        "orders/orders",
        method="post",
        content=payload,
        headers={"Content-Type": "text/plain"},
    )
    assert large.status_code == 200
    assert large.headers["Content-Type"] == "application/json"
    assert echo["body"] == payload
    assert served.connections == 1  # the same kept-alive connection for both


def set_cookie_lines(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_a_back_ends_cookies_reach_their_caller_and_no_other(caller, gateway, reviewer, served):
    from django.contrib.auth.models import Permission

    sent = [
        "backend_session=alice-secret; Path=/; HttpOnly; Partitioned; Priority=High",
        "theme=dark",
        "sessionid=planted-by-the-back-end",  # the portal's own cookie: never from a back end
    ]
    query = "&".join(f"set-cookie={quote(line)}" for line in sent)
    response, _ = call(caller, f"orders/orders/1?{query}")
    assert response.status_code == 200
    assert set_cookie_lines(response) == sent[:2]  # as they came, attributes and all
    reviewer.user_permissions.add(Permission.objects.get(codename="call_api"))
    other = gateway.client(issue_token(reviewer, "other caller")[1])
    response, echo = call(other, "orders/orders/2")
    assert response.status_code == 200
    assert "cookie" not in echo["headers"]
    assert set_cookie_lines(response) == []


def test_the_back_ends_content_type_replaces_the_default(caller, served):
    small, _ = call(caller, "orders/orders/1")
    assert small.headers.get_list("Content-Type") == ["application/json"]
    assert small.json()["path"] == "/orders/1"


def test_a_body_cut_short_is_a_502_in_json(caller, served):
    response, error = call(caller, "orders/orders/1?short-body=1")
    assert response.status_code == 502
    assert error["requestId"] == response.headers["X-Request-Id"]
    assert error["error"]["code"]


def test_the_body_is_forwarded_and_capped(caller, settings, served):
    response, echo = call(
        caller,
        "orders/orders",
        "post",
        content=b'{"item": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert echo["method"] == "POST"
    assert echo["body"] == '{"item": 1}'
    settings.GATEWAY_MAX_BODY_BYTES = 4
    response, error = call(caller, "orders/orders", "post", content=b"12345")
    assert response.status_code == 413
    assert error["error"]["code"] == "body_too_large"


def test_an_untrusted_back_end_answers_500_with_both_fixes(
    caller, start_backend, make_api, client_certificate
):
    server = start_backend()
    make_api(server.url, certificate=client_certificate)
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "backend_certificate_untrusted"
    message = error["error"]["message"]
    assert "CA certificates" in message
    assert "Validate certificate chain" in message
    # No backend serves the API: the message links to a new one for its address.
    assert message.endswith(f"/backends/+add/?url=https%3A%2F%2F127.0.0.1%3A{server.port}")
    assert error["requestId"] == response.headers["X-Request-Id"]


def test_chain_validation_off_accepts_a_self_signed_back_end(
    caller, start_backend, make_api, make_backend, client_certificate
):
    self_signed = pki.make_leaf(None, "127.0.0.1", sans=("127.0.0.1",))
    server = start_backend(certificate=self_signed)
    make_api(server.url, certificate=client_certificate)
    assert call(caller, "orders/orders/1")[0].status_code == 500
    make_backend(server.url, chain=False)
    response, echo = call(caller, "orders/orders/1")
    assert response.status_code == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_name_validation(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca, server_ca
):
    wrong_name = pki.make_leaf(server_ca, "other.example", sans=("other.example",))
    server = start_backend(certificate=wrong_name)
    make_api(server.url, certificate=client_certificate)
    backend = make_backend(server.url, ca_certificates=[trusted_ca])
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "backend_certificate_name_mismatch"
    assert error["error"]["message"].endswith(f"/backends/{backend.name}/edit/")
    backend.validate_certificate_name = False
    actions.save_backend(backend, ca_certificates=[trusted_ca], client_certificates=[])
    assert call(caller, "orders/orders/1")[0].status_code == 200


@pytest.mark.parametrize("version", TLS_VERSIONS, ids=["tls1.2", "tls1.3"])
def test_a_refused_client_certificate_answers_502(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca, version
):
    server = start_backend(client_cas=[pki.make_ca("Someone Else's CA")], tls_version=version)
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=client_certificate)
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 502
    assert error["error"]["code"] == "client_certificate_rejected"
    assert "refused the client certificate" in error["error"]["message"]


def test_an_expired_client_certificate_answers_500_before_connecting(
    caller, start_backend, make_api, make_backend, trusted_ca, expired_certificate
):
    server = start_backend()
    expired = expired_certificate
    make_backend(server.url, ca_certificates=[trusted_ca])
    make_api(server.url, certificate=expired)
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_expired"
    assert server.connections == 0


def test_an_undecryptable_key_fails_closed(caller, settings, served):
    from certificates.keystore import KeyRing

    settings.PORTAL_KEYRING = KeyRing.generate_entry("other")
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_unavailable"
    assert served.connections == 0


def test_the_key_is_decrypted_once_but_the_dates_are_checked_on_every_call(
    caller, client_certificate, monkeypatch, served
):
    decrypted = []
    original = Certificate.private_key_der
    monkeypatch.setattr(
        Certificate, "private_key_der", lambda self: decrypted.append(1) or original(self)
    )
    for _ in range(3):
        assert call(caller, "orders/orders/1")[0].status_code == 200
    assert len(decrypted) == 1
    later = client_certificate.not_after + dt.timedelta(seconds=1)
    monkeypatch.setattr(forwarding, "timezone", SimpleNamespace(now=lambda: later))
    response, error = call(caller, "orders/orders/1")
    assert response.status_code == 500
    assert error["error"]["code"] == "client_certificate_expired"
    assert served.connections == 1


def test_connection_refused_and_timeout(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca, settings
):
    make_api(f"https://127.0.0.1:{refused_port()}", certificate=client_certificate)
    response, error = call(caller, "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (502, "backend_unreachable")

    slow = start_backend(delay=3)
    make_backend(slow.url, ca_certificates=[trusted_ca])
    make_api(slow.url, certificate=client_certificate, path="slow")
    settings.GATEWAY_TIMEOUT_SECONDS = 0.5
    response, error = call(caller, "slow/orders/1")
    assert (response.status_code, error["error"]["code"]) == (504, "backend_timeout")


def test_unknown_api_and_operation_answer_404(caller, make_api):
    make_api("https://127.0.0.1:1")
    response, error = call(caller, "nothing/here")
    assert (response.status_code, error["error"]["code"]) == (404, "api_not_found")
    response, error = call(caller, "orders/customers/1")
    assert (response.status_code, error["error"]["code"]) == (404, "operation_not_found")
    response, error = call(caller, "orders/orders/1", "delete")
    assert response.status_code == 404


def test_a_replaced_certificate_is_presented_on_the_next_call(
    caller, client_certificate, client_ca, served
):
    first = call(caller, "orders/orders/1")[1]
    renewed = pki.make_leaf(client_ca, "gateway.client.test")
    import_certificate("gateway-client", pki.make_pfx(renewed), pki.DEFAULT_PASSWORD, replace=True)
    second = call(caller, "orders/orders/1")[1]
    new_thumbprint = Certificate.objects.get(name="gateway-client").thumbprint
    assert first["client_certificate"]["thumbprint"] == client_certificate.thumbprint
    assert (
        second["client_certificate"]["thumbprint"]
        == new_thumbprint
        != client_certificate.thumbprint
    )


def test_connections_are_reused_once_warm(caller, gateway, served):
    for _ in range(5):
        assert call(caller, "orders/orders/1")[0].status_code == 200
    assert served.handshakes == 1
    assert gateway.app.pool.contexts_built == 1


def test_the_backend_certificate_is_used_when_the_api_has_none(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca
):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca], certificates=[client_certificate])
    make_api(server.url)
    response, echo = call(caller, "orders/orders/1")
    assert response.status_code == 200
    assert echo["client_certificate"]["thumbprint"] == client_certificate.thumbprint


def test_callers_need_a_token_of_a_role_that_may_call(gateway, reviewer, make_api):
    make_api("https://127.0.0.1:1")
    response, error = call(gateway.client(), "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    response, error = call(gateway.client(issue_token(reviewer, "r")[1]), "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (403, "forbidden")
    response, error = call(gateway.client("cpt_wrong"), "orders/orders/1")
    assert response.status_code == 401


def test_the_portals_session_is_refused(gateway, client, administrator, served):
    client.force_login(administrator)
    session = client.cookies["sessionid"].value
    with gateway.client(cookies={"sessionid": session}) as browser:
        response, error = call(browser, "orders/orders/1")
    assert (response.status_code, error["error"]["code"]) == (401, "unauthenticated")
    assert not served.requests


def test_a_back_end_killed_mid_request_answers_502(
    caller, start_backend, make_api, make_backend, client_certificate, trusted_ca
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
    response, error = call(caller, "orders/orders/1")
    killer.join()
    assert server.requests, "the back end never saw the request"
    assert response.status_code == 502
    assert error["error"]["code"] in {"backend_error", "backend_unreachable"}
    assert "Traceback" not in error["error"]["message"]


def test_scripts_call_with_either_header_and_no_csrf(gateway, token, served):
    for header in ("Authorization", "Ocp-Apim-Subscription-Key"):
        value = f"Bearer {token}" if header == "Authorization" else token
        with gateway.client() as script:
            response, echo = call(
                script,
                "orders/orders",
                "post",
                content=b"{}",
                headers={header: value, "Content-Type": "application/json"},
            )
        assert response.status_code == 200
        headers = {name.lower() for name in echo["headers"]}
        assert header.lower() not in headers  # the portal's token never reaches the back end


def test_portal_cookies_never_reach_the_back_end(caller, served):
    response, echo = call(
        caller, "orders/orders/1", headers={"Cookie": "sessionid=s; csrftoken=c; theme=dark"}
    )
    assert response.status_code == 200
    assert echo["headers"]["cookie"] == "theme=dark"


def test_the_callers_own_authorization_header_reaches_the_back_end(gateway, token, served):
    # With the token in Ocp-Apim-Subscription-Key, Authorization is the caller's own.
    client = gateway.client()
    response, echo = call(
        client,
        "orders/orders/1",
        headers={"Authorization": "Basic dXNlcjpwYXNz", "Ocp-Apim-Subscription-Key": token},
    )
    assert response.status_code == 200
    assert echo["headers"]["authorization"] == "Basic dXNlcjpwYXNz"

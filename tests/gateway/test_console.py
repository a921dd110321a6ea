import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(start_backend, make_api, make_backend, client_certificate, trusted_ca):
    server = start_backend()
    make_backend(server.url, ca_certificates=[trusted_ca])
    return server, make_api(f"{server.url}/v1", certificate=client_certificate)


def test_the_test_tab_sends_through_the_gateway_and_shows_a_trace(admin_client, ready):
    server, api = ready
    page = admin_client.get(f"/apis/{api.name}/test/")
    assert b"orderId" in page.content
    response = admin_client.post(
        f"/apis/{api.name}/test/",
        {
            "operation": "get-order",
            "parameter_orderId": "42",
            "query": "expand=lines",
            "headers": "X-Trace: yes",
            "body": "",
        },
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="status">200<' in content
    assert "&quot;path&quot;: &quot;/v1/orders/42&quot;" in content  # pretty-printed JSON
    assert "gateway-client" in content
    assert "CN=127.0.0.1" in content
    assert "Backend Test CA" in content
    assert "On: passed" in content
    assert "Client certificate offered" in content
    echo = server.requests[-1]
    headers = {name.lower(): value for name, value in echo["headers"].items()}
    assert headers["x-trace"] == "yes"


def test_a_failure_is_shown_with_its_reason(
    admin_client, start_backend, make_api, client_certificate
):
    server = start_backend()
    api = make_api(server.url, certificate=client_certificate)
    response = admin_client.post(
        f"/apis/{api.name}/test/", {"operation": "get-order", "parameter_orderId": "1"}
    )
    content = response.content.decode()
    assert 'data-testid="status">500<' in content
    assert "backend_certificate_untrusted" in content
    assert ">Change the validation</a>" in content and "/backends/+add/?url=" in content
    assert "On: failed" in content
    assert "Client certificate not sent" in content
    assert "the TLS handshake with the back end did not complete" in content


def test_bad_headers_are_refused_before_sending(admin_client, ready):
    server, api = ready
    response = admin_client.post(
        f"/apis/{api.name}/test/",
        {"operation": "get-order", "parameter_orderId": "1", "headers": "not a header"},
    )
    assert "Line 1 is not" in response.content.decode()
    assert server.connections == 0


def test_choosing_an_operation_redraws_its_parameters_with_htmx(admin_client, ready):
    _, api = ready
    response = admin_client.get(
        f"/apis/{api.name}/test/", {"operation": "create-order"}, headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="console"')
    assert "parameter_orderId" not in content
    assert f"POST {settings.GATEWAY_BASE_URL}/orders/orders" in content


def test_a_reviewer_sees_the_tab_but_cannot_send(client, reviewer, ready):
    server, api = ready
    client.force_login(reviewer)
    page = client.get(f"/apis/{api.name}/test/").content.decode()
    assert "cannot send" in page or "not send it" in page
    assert ">Send<" not in page
    refused = client.post(
        f"/apis/{api.name}/test/", {"operation": "get-order", "parameter_orderId": "1"}
    )
    assert refused.status_code == 403
    assert server.connections == 0


def test_the_trace_says_why_no_certificate_was_sent_over_plain_http(
    admin_client, make_api, client_certificate
):
    from tests.gateway.backend_server import RawBackend

    backend = RawBackend().start()
    try:
        api = make_api(backend.url, certificate=client_certificate)
        response = admin_client.post(
            f"/apis/{api.name}/test/", {"operation": "get-order", "parameter_orderId": "1"}
        )
    finally:
        backend.stop()
    content = response.content.decode()
    assert 'data-testid="status">200<' in content
    assert "Client certificate not sent" in content
    assert "the service URL is plain http://" in content
    assert "Client certificate offered" not in content


def test_the_trace_says_an_expired_certificate_was_not_sent(
    admin_client, start_backend, make_api, make_backend, trusted_ca, expired_certificate
):
    server = start_backend()
    expired = expired_certificate
    make_backend(server.url, ca_certificates=[trusted_ca])
    api = make_api(server.url, certificate=expired)
    response = admin_client.post(
        f"/apis/{api.name}/test/", {"operation": "get-order", "parameter_orderId": "1"}
    )
    content = response.content.decode()
    assert "client_certificate_expired" in content
    assert "Client certificate not sent" in content
    assert "refused before connecting" in content
    assert server.connections == 0

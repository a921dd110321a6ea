"""Bad input to the gateway gets a clear 4xx and never surprises the back end: each case
against a raw back end that records the exact bytes it received."""

import json
import socket

import pytest

from tests.gateway.backend_server import RawBackend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def raw(make_api):
    backend = RawBackend().start()
    make_api(f"{backend.url}/base")
    yield backend
    backend.stop()


def request_line(received: bytes) -> bytes:
    return received.split(b"\r\n", 1)[0]


def send_raw(gateway, token: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are (no client library tidying them up); the status and body."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as connection:
        connection.sendall(head.replace("\n", "\r\n").format(token=token).encode() + b"\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                head_part, _, rest = answer.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head_part.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(rest) >= length:
                    break
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "path",
    [
        "orders/orders/%2e%2e/admin",
        "orders/orders/%2E%2E",
        "orders/%2e%2e/secret",
        "orders/orders/a%2Fb",
        "orders/orders/a%2fb",
        "orders/orders/a%5Cb",
        "orders/orders/a%00b",
        "orders/orders/%ff",
    ],
)
def test_a_path_that_could_leave_the_base_path_is_refused(caller, raw, path):
    response = caller.get(f"/{path}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_path"
    assert raw.received == []


@pytest.mark.parametrize("encoded", ["%3F", "%23", "%3f"])
def test_an_encoded_question_mark_or_hash_stays_in_the_path(caller, raw, encoded):
    response = caller.get(f"/orders/orders/a{encoded}b", params={"x": "1"})
    assert response.status_code == 200
    assert request_line(raw.received[-1]) == f"GET /base/orders/a{encoded}b?x=1 HTTP/1.1".encode()


def test_a_get_that_declares_a_body_it_does_not_send_is_refused(gateway, token, raw):
    status, body = send_raw(
        gateway,
        token,
        "GET /orders/orders/1 HTTP/1.1\nHost: gw\nAuthorization: Bearer {token}\n"
        "Content-Length: 5\n",
    )
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "unexpected_body", body
    assert raw.received == []


def test_a_get_with_content_length_zero_is_fine(gateway, token, raw):
    status, _ = send_raw(
        gateway,
        token,
        "GET /orders/orders/1 HTTP/1.1\nHost: gw\nAuthorization: Bearer {token}\n"
        "Content-Length: 0\nConnection: close\n",
    )
    assert status == 200
    assert request_line(raw.received[-1]) == b"GET /base/orders/1 HTTP/1.1"


def test_a_chunked_body_is_forwarded_whole(gateway, token, raw):
    status, _ = send_raw(
        gateway,
        token,
        "POST /orders/orders HTTP/1.1\nHost: gw\nAuthorization: Bearer {token}\n"
        "Transfer-Encoding: chunked\nConnection: close\n",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert status == 200
    received = raw.received[-1]
    head, _, body = received.partition(b"\r\n\r\n")
    assert body == b"hello world"
    assert b"\r\nContent-Length: 11" in head
    assert b"chunked" not in head.lower()


def test_a_multipart_body_is_forwarded_untouched(caller, raw):
    response = caller.post(
        "/orders/orders",
        files={"file": ("a.bin", bytes(range(256)) * 4, "application/octet-stream")},
        data={"note": "héllo"},
    )
    assert response.status_code == 200
    head, _, body = raw.received[-1].partition(b"\r\n\r\n")
    sent = response.request
    assert body == sent.read()
    content_type = f"content-type: {sent.headers['content-type']}".encode()
    assert content_type in head.lower()


def test_a_body_larger_than_declared_limit_is_refused_before_reading(gateway, token, raw, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 10
    status, _ = send_raw(
        gateway,
        token,
        "POST /orders/orders HTTP/1.1\nHost: gw\nAuthorization: Bearer {token}\n"
        "Content-Length: 11\nConnection: close\n",
        b"hello world",
    )
    assert status == 413
    assert raw.received == []

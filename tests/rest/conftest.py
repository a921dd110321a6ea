import base64
import json

import pytest
from django.test import Client

from accounts.tokens import issue_token
from certificates.actions import import_ca_certificate, import_certificate
from tests import pki


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def error_of(response) -> dict:
    """The error of a response, after checking it has the API's error shape."""
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])
    assert isinstance(body["error"]["details"], list)
    return body["error"]


class ApiClient:
    """The Django test client speaking JSON to /api/ with a bearer token."""

    def __init__(self, token: str | None, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path, **headers):
        return self.client.get(f"/api{path}", headers={**self.headers, **headers})

    def put(self, path, body, **headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.put(
            f"/api{path}",
            data,
            content_type=headers.pop("content_type", "application/json"),
            headers={**self.headers, **headers},
        )

    def delete(self, path, **headers):
        return self.client.delete(f"/api{path}", headers={**self.headers, **headers})

    def request(self, method, path, **headers):
        return self.client.generic(method, f"/api{path}", headers={**self.headers, **headers})


@pytest.fixture
def token_for(db):
    def make(user, name="tests"):
        return issue_token(user, name)[1]

    return make


@pytest.fixture
def api(administrator, token_for):
    return ApiClient(token_for(administrator))


@pytest.fixture
def reviewer_api(reviewer, token_for):
    return ApiClient(token_for(reviewer))


@pytest.fixture
def outsider_api(outsider, token_for):
    return ApiClient(token_for(outsider))


@pytest.fixture
def pfx_body():
    def make(common_name="orders.example.test", password=pki.DEFAULT_PASSWORD, **leaf_options):
        leaf = pki.make_leaf(pki.make_ca(), common_name, **leaf_options)
        return {"properties": {"data": b64(pki.make_pfx(leaf, password)), "password": password}}

    return make


@pytest.fixture
def certificate(db):
    leaf = pki.make_leaf(pki.make_ca(), "orders.example.test")
    return import_certificate(
        "orders-client", pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
    ).certificate


@pytest.fixture
def ca_certificate(db):
    return import_ca_certificate("internal-root", pki.certificate_pem(pki.make_ca("Internal Root")))

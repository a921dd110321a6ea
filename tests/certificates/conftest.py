import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import pki


@pytest.fixture
def leaf():
    return pki.make_leaf(pki.make_ca(), "client.example.test")


@pytest.fixture
def pfx_file():
    def make(data: bytes, name: str = "client.pfx"):
        return SimpleUploadedFile(name, data, content_type="application/x-pkcs12")

    return make


@pytest.fixture
def upload(admin_client, pfx_file):
    """POST the upload form as an administrator; returns the response."""

    def post(data: bytes, name: str = "orders-client", password=pki.DEFAULT_PASSWORD, **extra):
        return admin_client.post(
            "/certificates/+add/",
            {"certificate": pfx_file(data), "name": name, "password": password, **extra},
        )

    return post

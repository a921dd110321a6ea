import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import pki


@pytest.fixture(scope="module")
def root():
    return pki.make_ca()


@pytest.fixture(scope="module")
def intermediate(root):
    return pki.make_ca("Test Intermediate CA", pki.ec_key("P-384"), issuer=root)


@pytest.fixture(scope="module")
def leaf(intermediate):
    """A client certificate issued by the intermediate CA, with one name of each kind."""
    return pki.make_leaf(
        intermediate,
        "client.example.test",
        sans=("api.example.com", "127.0.0.1", "::1", "ops@example.com", "https://example.com/a"),
    )


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

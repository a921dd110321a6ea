import pytest

from apis.actions import create_api
from certificates.actions import import_certificate
from tests import pki


@pytest.fixture
def make_certificate(db):
    def make(name, common_name=None):
        leaf = pki.make_leaf(pki.make_ca(), common_name or f"{name}.example.test")
        return import_certificate(
            name, pki.make_pfx(leaf), pki.DEFAULT_PASSWORD, replace=False
        ).certificate

    return make


@pytest.fixture
def api(db):
    return create_api(
        display_name="Orders API", service_url="https://127.0.0.1:9443/v1", path="orders"
    )


@pytest.fixture
def make_ca_certificate(db):
    from certificates.actions import import_ca_certificate

    def make(name, common_name=None):
        issuer = pki.make_ca(common_name or f"{name} CA")
        return import_ca_certificate(name, pki.certificate_pem(issuer))

    return make

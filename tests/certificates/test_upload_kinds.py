import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates.upload_errors import CertificateError, UploadError
from certificates.upload_kinds import load_public_certificate
from tests import crafted_pfx, pki
from tests.certificates.refusals import refused

PASSWORD = pki.DEFAULT_PASSWORD
BER_WARNING = "ignore:PKCS#12 bundle could not be parsed as DER:UserWarning"


# Files that are not a .pfx file --------------------------------------------------------------


def test_it_rejects_a_pem_certificate(leaf):
    error = refused(pki.certificate_pem(leaf))
    assert error.code == "not_pfx_pem_certificate"
    assert "PEM format without its private key" in error.message
    assert ".pfx (PKCS#12)" in error.message


def test_it_rejects_a_pem_key(leaf):
    error = refused(pki.key_pem(leaf))
    assert error.code == "not_pfx_pem_key"
    assert "private key in PEM format without its certificate" in error.message


def test_it_rejects_a_pem_certificate_with_its_key(leaf):
    error = refused(b"Bag Attributes\n" + pki.certificate_pem(leaf) + pki.key_pem(leaf))
    assert error.code == "not_pfx_pem_certificate_and_key"
    assert "openssl pkcs12 -export" in error.message


def test_it_rejects_a_der_certificate(leaf):
    error = refused(pki.certificate_der(leaf))
    assert error.code == "not_pfx_der_certificate"
    assert "DER format" in error.message
    assert "private key" in error.message


def test_it_rejects_a_der_key(leaf):
    error = refused(pki.key_der(leaf))
    assert error.code == "not_pfx_der_key"
    assert "without its certificate" in error.message


def test_it_rejects_an_encrypted_der_key(leaf):
    assert refused(pki.key_der(leaf, password="secret")).code == "not_pfx_der_key"


def test_it_rejects_a_csr(leaf):
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(leaf.certificate.subject)
        .sign(leaf.key, pki.hashes.SHA256())
    )
    assert refused(csr.public_bytes(serialization.Encoding.DER)).code == "not_pfx_csr"
    error = refused(csr.public_bytes(serialization.Encoding.PEM))
    assert error.code == "not_pfx_csr"
    assert "signing request" in error.message


def test_it_rejects_a_base64_pfx(leaf):
    error = refused(base64.encodebytes(pki.make_pfx(leaf)))
    assert error.code == "not_pfx_base64"


def test_it_rejects_random_bytes():
    error = refused(crafted_pfx.random_bytes())
    assert error.code == "not_pfx"
    assert "not a .pfx (PKCS#12) file" in error.message


def test_it_rejects_a_truncated_file(leaf):
    error = refused(crafted_pfx.truncate(pki.make_pfx(leaf)))
    assert error.code == "truncated"
    assert "incomplete" in error.message


@pytest.mark.filterwarnings(BER_WARNING)
def test_it_rejects_a_truncated_ber_file(leaf):
    assert refused(crafted_pfx.truncate(crafted_pfx.make_ber_pfx(leaf))).code == "truncated"


def test_it_rejects_trailing_data(leaf):
    error = refused(crafted_pfx.append_trailing_bytes(pki.make_pfx(leaf)))
    assert error.code == "trailing_data"
    assert "extra data after the end" in error.message


def test_it_rejects_trailing_data_after_a_ber_file(leaf):
    assert (
        refused(crafted_pfx.append_trailing_bytes(crafted_pfx.make_ber_pfx(leaf))).code
        == "trailing_data"
    )


# Public certificates (CA certificates) ------------------------------------------------------


def refused_certificate(data: bytes) -> CertificateError:
    with pytest.raises(CertificateError) as caught:
        load_public_certificate(data)
    return caught.value


def test_it_loads_a_public_certificate_in_pem_and_der(root):
    assert load_public_certificate(pki.certificate_pem(root)) == root.certificate
    assert load_public_certificate(pki.certificate_der(root)) == root.certificate
    text = b"subject=CN = Test Root CA\n" + pki.certificate_pem(root)
    assert load_public_certificate(text) == root.certificate


def test_public_certificate_errors_are_pfx_errors():
    assert issubclass(CertificateError, UploadError)


def test_it_rejects_an_empty_certificate_file():
    assert refused_certificate(b" \n").code == "empty"


def test_it_rejects_a_certificate_file_that_is_too_large():
    assert refused_certificate(bytes(70 * 1024)).code == "too_large"


def test_it_rejects_a_private_key_as_certificate(root):
    error = refused_certificate(pki.certificate_pem(root) + pki.key_pem(root))
    assert error.code == "private_key"
    assert "private key" in error.message
    assert refused_certificate(pki.key_der(root)).code == "private_key"


def test_it_rejects_a_pfx_as_certificate(leaf):
    error = refused_certificate(pki.make_pfx(leaf))
    assert error.code == "pfx"
    assert "public certificate" in error.message


def test_it_rejects_garbage_as_certificate():
    assert refused_certificate(crafted_pfx.random_bytes()).code == "not_certificate"
    assert refused_certificate(b"hello world").code == "not_certificate"


def test_it_rejects_several_pem_certificates(root, intermediate):
    error = refused_certificate(pki.certificate_pem(root) + pki.certificate_pem(intermediate))
    assert error.code == "multiple_certificates"
    assert "2 certificates" in error.message


def test_it_rejects_trailing_data_after_a_der_certificate(root):
    assert refused_certificate(pki.certificate_der(root) + b"junk").code == "trailing_data"


def test_it_rejects_a_damaged_pem_certificate(root):
    pem = pki.certificate_pem(root).replace(b"M", b"!", 3)
    assert refused_certificate(pem).code == "damaged"


def test_a_leaf_uploaded_as_a_ca_certificate_is_refused_with_the_reason(admin_client, leaf):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from certificates.models import CACertificate

    response = admin_client.post(
        "/ca-certificates/+add/",
        {
            "name": "not-a-ca",
            "certificate": SimpleUploadedFile("leaf.pem", pki.certificate_pem(leaf)),
        },
    )
    assert response.status_code == 200
    assert "its basic constraints say CA:FALSE" in response.content.decode()
    assert not CACertificate.objects.exists()


def test_a_ca_certificate_is_accepted(admin_client, root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin_client.post(
        "/ca-certificates/+add/",
        {"name": "root-ca", "certificate": SimpleUploadedFile("ca.pem", pki.certificate_pem(root))},
    )
    assert response.status_code == 302

import base64
import datetime as dt
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from certificates.pfx import (
    MAX_KDF_ITERATIONS,
    MAX_PFX_BYTES,
    CertificateError,
    ParsedPfx,
    PfxError,
    certificate_thumbprint,
    describe_certificate,
    load_pfx,
    load_public_certificate,
)
from tests import pki

PASSWORD = pki.DEFAULT_PASSWORD
NOW = dt.datetime.now(dt.UTC)
BER_WARNING = "ignore:PKCS#12 bundle could not be parsed as DER:UserWarning"


def openssl(*args: str, data: bytes) -> str:
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True)
    return done.stdout.decode().strip()


def refused(data: bytes, password: str = PASSWORD) -> PfxError:
    with pytest.raises(PfxError) as caught:
        load_pfx(data, password)
    assert str(caught.value) == caught.value.message
    return caught.value


@pytest.fixture(scope="module")
def root():
    return pki.make_ca()


@pytest.fixture(scope="module")
def intermediate(root):
    return pki.make_ca("Test Intermediate CA", pki.ec_key("P-384"), issuer=root)


@pytest.fixture(scope="module")
def leaf(intermediate):
    return pki.make_leaf(
        intermediate,
        "client.example.test",
        sans=("api.example.com", "127.0.0.1", "::1", "ops@example.com", "https://example.com/a"),
    )


@pytest.fixture(scope="module")
def other(root):
    return pki.make_leaf(root, "other.example.test", key_type="ec")


# Accepted files -------------------------------------------------------------------------------


def test_it_loads_an_aes_pfx(leaf):
    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)

    assert isinstance(parsed, ParsedPfx)
    assert parsed.certificate == leaf.certificate
    assert parsed.private_key.public_key() == leaf.key.public_key()
    assert parsed.subject == "CN=client.example.test,O=Certificate Portal Tests"
    assert parsed.issuer == "CN=Test Intermediate CA,O=Certificate Portal Tests"
    assert parsed.sans == (
        "DNS:api.example.com",
        "IP:127.0.0.1",
        "IP:::1",
        "email:ops@example.com",
        "URI:https://example.com/a",
    )
    assert parsed.key_type == "RSA"
    assert parsed.key_size == 2048
    assert parsed.key_description == "RSA 2048"
    assert parsed.chain == ()
    assert parsed.friendly_name == ""
    assert parsed.self_signed is False
    assert parsed.validity_problem() is None
    assert parsed.not_before == leaf.certificate.not_valid_before_utc
    assert parsed.not_after == leaf.certificate.not_valid_after_utc
    assert parsed.not_after.tzinfo is not None


def test_its_fingerprints_match_openssl(leaf):
    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    der = parsed.certificate_der()

    sha1 = openssl("x509", "-inform", "DER", "-noout", "-fingerprint", "-sha1", data=der)
    sha256 = openssl("x509", "-inform", "DER", "-noout", "-fingerprint", "-sha256", data=der)
    assert parsed.thumbprint == sha1.split("=", 1)[1].replace(":", "")
    assert parsed.sha256_fingerprint == sha256.split("=", 1)[1].replace(":", "")
    assert len(parsed.thumbprint) == 40
    assert parsed.thumbprint == certificate_thumbprint(leaf.certificate)


def test_its_serial_matches_openssl(leaf):
    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)

    serial = openssl("x509", "-inform", "DER", "-noout", "-serial", data=parsed.certificate_der())
    assert parsed.serial == serial.split("=", 1)[1]
    assert len(parsed.serial) % 2 == 0
    assert parsed.serial == parsed.serial.upper()


def test_it_pads_the_serial_to_whole_bytes(root):
    parsed = load_pfx(pki.make_pfx(pki.make_leaf(root, serial_number=0xABC)), PASSWORD)
    assert parsed.serial == "0ABC"


def test_it_returns_the_key_as_unencrypted_pkcs8(leaf):
    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)

    key = serialization.load_der_private_key(parsed.private_key_der(), password=None)
    assert key.public_key() == leaf.key.public_key()
    assert parsed.certificate_der() == pki.certificate_der(leaf)
    assert "private_key" not in repr(parsed)


def test_it_loads_a_pfx_with_its_chain(leaf, intermediate, root):
    parsed = load_pfx(pki.make_pfx(leaf, chain=[intermediate, root]), PASSWORD)

    assert parsed.certificate == leaf.certificate
    assert parsed.chain == (intermediate.certificate, root.certificate)


def test_it_drops_a_copy_of_the_certificate_from_the_chain(leaf, intermediate):
    parsed = load_pfx(pki.make_pfx(leaf, chain=[leaf, intermediate]), PASSWORD)
    assert parsed.chain == (intermediate.certificate,)


def test_it_reads_the_friendly_name(leaf):
    parsed = load_pfx(pki.make_pfx(leaf, friendly_name="Zertifikat für Tests"), PASSWORD)
    assert parsed.friendly_name == "Zertifikat für Tests"


def test_it_neutralises_control_characters_in_the_friendly_name(leaf):
    name = "evil\u202e\nname" + "x" * 300
    parsed = load_pfx(pki.make_pfx(leaf, friendly_name=name), PASSWORD)
    assert parsed.friendly_name.startswith("evil\ufffd\ufffdname")
    assert len(parsed.friendly_name) == 255


def test_it_loads_a_legacy_3des_pfx(leaf):
    parsed = load_pfx(pki.make_pfx(leaf, encryption="legacy"), PASSWORD)
    assert parsed.certificate == leaf.certificate


def test_it_loads_a_legacy_rc2_pfx_made_by_openssl(leaf, intermediate, tmp_path):
    data = pki.make_legacy_pfx_with_openssl(
        leaf, PASSWORD, tmp_path, chain=[intermediate], friendly_name="from openssl"
    )

    parsed = load_pfx(data, PASSWORD)
    assert parsed.certificate == leaf.certificate
    assert parsed.chain == (intermediate.certificate,)
    assert parsed.friendly_name == "from openssl"


def test_it_loads_a_pfx_made_by_openssl_3(leaf, tmp_path):
    parsed = load_pfx(pki.make_pfx_with_openssl(leaf, PASSWORD, tmp_path), PASSWORD)
    assert parsed.certificate == leaf.certificate


def test_it_accepts_an_empty_password(leaf, tmp_path):
    assert load_pfx(pki.make_pfx_with_openssl(leaf, "", tmp_path), "").certificate == (
        leaf.certificate
    )
    assert load_pfx(pki.make_pfx(leaf, "", encryption="none"), "").certificate == (leaf.certificate)


def test_it_accepts_a_non_ascii_password(leaf, tmp_path):
    password = "pässwörd-€-日本"
    assert load_pfx(pki.make_pfx(leaf, password), password).certificate == leaf.certificate
    legacy = pki.make_legacy_pfx_with_openssl(leaf, password, tmp_path)
    assert load_pfx(legacy, password).certificate == leaf.certificate


def test_it_loads_a_pfx_with_an_unencrypted_key_bag(leaf):
    data = pki.make_plain_pfx(leaf.certificate, pki.key_der(leaf))
    assert load_pfx(data, PASSWORD).certificate == leaf.certificate


@pytest.mark.filterwarnings(BER_WARNING)
def test_it_loads_a_ber_encoded_pfx(leaf):
    # Windows and NSS write indefinite lengths; the length checks must follow them.
    parsed = load_pfx(pki.make_ber_pfx(leaf), PASSWORD)
    assert parsed.certificate == leaf.certificate


@pytest.mark.parametrize(("curve", "description"), [("P-256", "EC P-256"), ("P-384", "EC P-384")])
def test_it_accepts_ec_keys(root, curve, description):
    leaf = pki.make_leaf(root, key_type="ec", curve=curve)

    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    assert parsed.key_type == "EC"
    assert parsed.key_size == int(curve[2:])
    assert parsed.key_description == description


def test_it_accepts_a_self_signed_certificate():
    leaf = pki.make_leaf(None, "self.example.test")

    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    assert parsed.self_signed is True
    assert parsed.subject == parsed.issuer


def test_it_accepts_an_expired_certificate(root):
    leaf = pki.make_leaf(
        root, not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=10)
    )

    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    assert parsed.validity_problem() == "expired"
    assert parsed.validity_problem(NOW - dt.timedelta(days=100)) is None


def test_it_accepts_a_certificate_that_is_not_yet_valid(root):
    leaf = pki.make_leaf(
        root, not_before=NOW + dt.timedelta(days=10), not_after=NOW + dt.timedelta(days=400)
    )

    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    assert parsed.validity_problem() == "not yet valid"
    assert parsed.validity_problem(NOW + dt.timedelta(days=100)) is None


def test_it_describes_certificate_facts(leaf):
    facts = describe_certificate(leaf.certificate)
    parsed = load_pfx(pki.make_pfx(leaf), PASSWORD)
    assert parsed.facts == facts


def test_it_shows_upn_names():
    upn = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x08a@b.test")
    leaf = pki.make_leaf(None, sans=())
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.certificate.subject)
        .issuer_name(leaf.certificate.subject)
        .public_key(leaf.key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([upn]), critical=False)
    )
    certificate = builder.sign(leaf.key, pki.hashes.SHA256())
    assert describe_certificate(certificate).sans == ("othername:UPN:a@b.test",)


# Refused before any decryption --------------------------------------------------------------


def test_it_rejects_an_empty_file():
    assert refused(b"").code == "empty"


def test_it_rejects_a_file_that_is_too_large():
    error = refused(b"\x30" + bytes(MAX_PFX_BYTES))
    assert error.code == "too_large"
    assert "256 KB" in error.message


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
    error = refused(pki.random_bytes())
    assert error.code == "not_pfx"
    assert "not a .pfx (PKCS#12) file" in error.message


def test_it_rejects_a_truncated_file(leaf):
    error = refused(pki.truncate(pki.make_pfx(leaf)))
    assert error.code == "truncated"
    assert "incomplete" in error.message


@pytest.mark.filterwarnings(BER_WARNING)
def test_it_rejects_a_truncated_ber_file(leaf):
    assert refused(pki.truncate(pki.make_ber_pfx(leaf))).code == "truncated"


def test_it_rejects_trailing_data(leaf):
    error = refused(pki.append_trailing_bytes(pki.make_pfx(leaf)))
    assert error.code == "trailing_data"
    assert "extra data after the end" in error.message


def test_it_rejects_trailing_data_after_a_ber_file(leaf):
    assert refused(pki.append_trailing_bytes(pki.make_ber_pfx(leaf))).code == "trailing_data"


def test_it_rejects_a_damaged_structure(leaf):
    error = refused(pki.make_pfx_with_damaged_content(leaf))
    assert error.code == "damaged"
    assert "damaged" in error.message


def test_it_rejects_an_unknown_version(leaf):
    assert refused(pki.make_pfx_with_version(leaf, 2)).code == "unsupported_format"


def test_it_rejects_huge_mac_iterations_before_deriving_anything(leaf):
    # If load_pfx derived the MAC key first, this would run for hours, not fail with this code.
    error = refused(pki.make_pfx_with_mac_iterations(leaf, 10**12))
    assert error.code == "iterations"
    assert f"{MAX_KDF_ITERATIONS:,}" in error.message


def test_it_rejects_huge_encryption_iterations(leaf):
    error = refused(pki.make_pfx_with_encryption_iterations(leaf, 8_000_000))
    assert error.code == "iterations"


def test_it_rejects_too_many_iterations_in_total(leaf):
    # Each part stays under the per-part cap; repeating the parts must not multiply the cost.
    data = pki.make_pfx_with_encryption_iterations(leaf, 900_000, copies=3)
    assert refused(data).code == "iterations"


def test_it_rejects_huge_pbmac1_iterations(leaf):
    assert refused(pki.make_pfx_with_pbmac1(leaf, 10**9)).code == "iterations"


def test_it_rejects_huge_iterations_in_an_encrypted_key(leaf):
    data = pki.make_pfx_with_shrouded_key(leaf.certificate, pki.pbes2_algorithm(2**31 - 1))
    assert refused(data).code == "iterations"


def test_it_rejects_a_huge_scrypt_cost(leaf):
    data = pki.make_pfx_with_shrouded_key(leaf.certificate, pki.scrypt_algorithm(2**20, 8, 64))
    assert refused(data).code == "iterations"


def test_it_lets_a_normal_scrypt_cost_through_to_decryption(leaf):
    # The junk ciphertext cannot decrypt, but the cost check must not be what refuses it.
    data = pki.make_pfx_with_shrouded_key(leaf.certificate, pki.scrypt_algorithm(2**14))
    assert refused(data).code == "wrong_password_or_damaged"


def test_it_accepts_iterations_up_to_the_cap(leaf):
    data = pki.make_pfx(leaf, iterations=MAX_KDF_ITERATIONS)
    assert load_pfx(data, PASSWORD).certificate == leaf.certificate


def test_it_rejects_an_oversized_key_before_decrypting(leaf):
    data = pki.make_plain_pfx(leaf.certificate, b"\x30\x82\x17\x70" + bytes(6000))
    error = refused(data)
    assert error.code == "unsupported_key"
    assert "8192" in error.message


# Refused after decryption -------------------------------------------------------------------


def test_it_rejects_wrong_password(leaf):
    error = refused(pki.make_pfx(leaf), "not the password")
    assert error.code == "wrong_password_or_damaged"
    assert error.message.startswith("The password is wrong or the file is damaged")


def test_it_rejects_a_password_that_cannot_be_encoded(leaf):
    assert refused(pki.make_pfx(leaf), "\ud800").code == "wrong_password_or_damaged"


def test_it_rejects_a_file_without_private_key(leaf, intermediate):
    error = refused(pki.make_certificate_only_pfx(leaf, chain=[intermediate]))
    assert error.code == "no_private_key"
    assert "no private key" in error.message


def test_it_rejects_a_key_without_its_certificate(leaf):
    error = refused(pki.make_key_only_pfx(leaf))
    assert error.code == "no_certificate"
    assert "not its certificate" in error.message


def test_it_rejects_a_key_that_does_not_match_the_certificate(leaf, other):
    error = refused(pki.make_mismatched_pfx(leaf, other))
    assert error.code == "key_mismatch"
    assert "does not belong" in error.message


def test_it_rejects_two_private_keys(leaf, other):
    error = refused(pki.make_two_key_pfx(leaf, other))
    assert error.code == "multiple_keys"
    assert "2 private keys" in error.message


def test_it_rejects_rsa_1024_as_too_weak(root):
    error = refused(pki.make_pfx(pki.make_leaf(root, key_size=1024)))
    assert error.code == "weak_key"
    assert "RSA 1024" in error.message
    assert "too weak" in error.message


@pytest.mark.parametrize(
    ("key_type", "options", "description"),
    [
        ("ed25519", {}, "Ed25519"),
        ("ec", {"curve": "P-521"}, "EC P-521"),
        ("dsa", {"key_size": 2048}, "DSA 2048"),
    ],
)
def test_it_rejects_keys_the_gateway_does_not_support(root, key_type, options, description):
    error = refused(pki.make_pfx(pki.make_leaf(root, key_type=key_type, **options)))
    assert error.code == "unsupported_key"
    assert description in error.message
    assert "not supported by the gateway" in error.message


def test_it_rejects_keys_cryptography_cannot_represent(leaf, root):
    key = x25519.X25519PrivateKey.generate()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(leaf.certificate.subject)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(root.key, pki.hashes.SHA256())
    )
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert refused(pki.make_plain_pfx(certificate, key_der)).code == "unsupported_key"


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
    assert issubclass(CertificateError, PfxError)


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
    assert refused_certificate(pki.random_bytes()).code == "not_certificate"
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

import datetime as dt
import math

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa, x25519

from certificates.pfx import MAX_KDF_ITERATIONS, MAX_PFX_BYTES, ParsedPfx, load_pfx
from tests import crafted_pfx, pki
from tests.certificates.refusals import refused

PASSWORD = pki.DEFAULT_PASSWORD
NOW = dt.datetime.now(dt.UTC)
BER_WARNING = "ignore:PKCS#12 bundle could not be parsed as DER:UserWarning"


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
    data = crafted_pfx.make_plain_pfx(leaf.certificate, pki.key_der(leaf))
    assert load_pfx(data, PASSWORD).certificate == leaf.certificate


@pytest.mark.filterwarnings(BER_WARNING)
def test_it_loads_a_ber_encoded_pfx(leaf):
    # Windows and NSS write indefinite lengths; the length checks must follow them.
    parsed = load_pfx(crafted_pfx.make_ber_pfx(leaf), PASSWORD)
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


# Refused before any decryption --------------------------------------------------------------


def test_it_rejects_an_empty_file():
    assert refused(b"").code == "empty"


def test_it_rejects_a_file_that_is_too_large():
    error = refused(b"\x30" + bytes(MAX_PFX_BYTES))
    assert error.code == "too_large"
    assert "256 KB" in error.message


def test_it_rejects_a_damaged_structure(leaf):
    error = refused(crafted_pfx.make_pfx_with_damaged_content(leaf))
    assert error.code == "damaged"
    assert "damaged" in error.message


def test_it_rejects_an_unknown_version(leaf):
    assert refused(crafted_pfx.make_pfx_with_version(leaf, 2)).code == "unsupported_format"


def test_it_rejects_huge_mac_iterations_before_deriving_anything(leaf):
    # If load_pfx derived the MAC key first, this would run for hours, not fail with this code.
    error = refused(crafted_pfx.make_pfx_with_mac_iterations(leaf, 10**12))
    assert error.code == "iterations"
    assert f"{MAX_KDF_ITERATIONS:,}" in error.message


def test_it_rejects_huge_encryption_iterations(leaf):
    error = refused(crafted_pfx.make_pfx_with_encryption_iterations(leaf, 8_000_000))
    assert error.code == "iterations"


def test_it_rejects_too_many_iterations_in_total(leaf):
    # Each part stays under the per-part cap; repeating the parts must not multiply the cost.
    data = crafted_pfx.make_pfx_with_encryption_iterations(leaf, 900_000, copies=3)
    assert refused(data).code == "iterations"


def test_it_rejects_huge_pbmac1_iterations(leaf):
    assert refused(crafted_pfx.make_pfx_with_pbmac1(leaf, 10**9)).code == "iterations"


def test_it_rejects_huge_iterations_in_an_encrypted_key(leaf):
    data = crafted_pfx.make_pfx_with_shrouded_key(
        leaf.certificate, crafted_pfx.pbes2_algorithm(2**31 - 1)
    )
    assert refused(data).code == "iterations"


def test_it_rejects_a_huge_scrypt_cost(leaf):
    data = crafted_pfx.make_pfx_with_shrouded_key(
        leaf.certificate, crafted_pfx.scrypt_algorithm(2**20, 8, 64)
    )
    assert refused(data).code == "iterations"


def test_it_lets_a_normal_scrypt_cost_through_to_decryption(leaf):
    # The junk ciphertext cannot decrypt, but the cost check must not be what refuses it.
    data = crafted_pfx.make_pfx_with_shrouded_key(
        leaf.certificate, crafted_pfx.scrypt_algorithm(2**14)
    )
    assert refused(data).code == "wrong_password_or_damaged"


def test_it_accepts_iterations_up_to_the_cap(leaf):
    data = pki.make_pfx(leaf, iterations=MAX_KDF_ITERATIONS)
    assert load_pfx(data, PASSWORD).certificate == leaf.certificate


def test_it_rejects_an_oversized_key_before_decrypting(leaf):
    data = crafted_pfx.make_plain_pfx(leaf.certificate, b"\x30\x82\x17\x70" + bytes(6000))
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
    error = refused(crafted_pfx.make_certificate_only_pfx(leaf, chain=[intermediate]))
    assert error.code == "no_private_key"
    assert "no private key" in error.message


def test_it_rejects_a_key_without_its_certificate(leaf):
    error = refused(crafted_pfx.make_key_only_pfx(leaf))
    assert error.code == "no_certificate"
    assert "not its certificate" in error.message


def test_it_rejects_a_key_that_does_not_match_the_certificate(leaf, other):
    error = refused(crafted_pfx.make_mismatched_pfx(leaf, other))
    assert error.code == "key_mismatch"
    assert "does not belong" in error.message


def test_it_rejects_two_private_keys(leaf, other):
    error = refused(crafted_pfx.make_two_key_pfx(leaf, other))
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
    assert refused(crafted_pfx.make_plain_pfx(certificate, key_der)).code == "unsupported_key"


# The key's numbers: cryptography (OpenSSL's RSA key check) decides --------------------------


def _key_der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_it_refuses_an_rsa_key_whose_p_is_not_prime(root):
    # n = p * q where "p" is itself the product of two primes: every number of the key is
    # consistent, so only a primality test finds it, and no TLS library will use such a key.
    small = rsa.generate_private_key(65537, 1024).private_numbers()
    q = rsa.generate_private_key(65537, 2048).private_numbers().p
    p = small.p * small.q
    e = 65537
    d = pow(e, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
    )
    key = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    leaf = pki.make_leaf(root, "three-primes.example.test", key=key)

    for data in (
        crafted_pfx.make_plain_pfx(leaf.certificate, _key_der(key)),
        pki.make_pfx(leaf),
    ):
        assert refused(data).code == "wrong_password_or_damaged"


@pytest.mark.parametrize("encrypted", [False, True], ids=["key-bag", "shrouded-key-bag"])
def test_it_refuses_an_rsa_key_with_inconsistent_numbers(leaf, encrypted):
    n = leaf.key.private_numbers()
    numbers = rsa.RSAPrivateNumbers(
        n.p, n.q, n.d, n.dmp1, n.dmq1, n.iqmp + 1, n.public_numbers
    )  # a wrong CRT coefficient
    broken = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    if encrypted:
        data = pki.make_pfx(pki.Leaf(leaf.certificate, broken))
    else:
        data = crafted_pfx.make_plain_pfx(leaf.certificate, _key_der(broken))
    assert refused(data).code == "wrong_password_or_damaged"


def test_the_result_is_plain_data_that_can_cross_a_pipe(leaf):
    import pickle

    parsed = load_pfx(pki.make_pfx(leaf, chain=[leaf]), PASSWORD)
    copy = pickle.loads(pickle.dumps(parsed))
    assert copy == parsed
    assert copy.certificate == leaf.certificate
    assert copy.private_key.public_key() == leaf.key.public_key()

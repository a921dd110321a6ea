import datetime as dt
import subprocess

from cryptography import x509

from certificates.facts import certificate_thumbprint, describe_certificate
from certificates.pfx import load_pfx
from tests import pki

PASSWORD = pki.DEFAULT_PASSWORD
NOW = dt.datetime.now(dt.UTC)


def openssl(*args: str, data: bytes) -> str:
    done = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True)
    return done.stdout.decode().strip()


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

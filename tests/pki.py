"""Keys, certificates and PKCS#12 files made at test time.

Plain functions, no Django: unit tests, view tests and the TLS gateway tests share them. RSA keys
are slow to generate, so one key per (size, slot) is made per test run and reused; ask for another
slot when a test needs two different keys of the same size.

PKCS#12 files that no ordinary tool writes (broken, hostile or unusual ones) are assembled by hand
in tests/crafted_pfx.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_PASSWORD = "correct horse battery staple"
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}


@dataclass(frozen=True)
class Issuer:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Leaf:
    certificate: x509.Certificate
    key: object  # any private key type, weak and unsupported ones included

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class PemFiles:
    certificate: Path
    key: Path
    chain: Path | None  # the chain alone, or None
    fullchain: Path  # certificate followed by the chain, as TLS servers want it


# Keys ---------------------------------------------------------------------------------------


@functools.cache
def rsa_key(bits: int = 2048, slot: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def dsa_key(bits: int = 2048) -> dsa.DSAPrivateKey:
    return dsa.generate_private_key(key_size=bits)


def ec_key(curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[curve]())


def make_key(key_type: str = "rsa", *, key_size: int = 2048, curve: str = "P-256", slot: int = 0):
    if key_type == "rsa":
        return rsa_key(key_size, slot)
    if key_type == "ec":
        return ec_key(curve)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "dsa":
        return dsa_key(key_size)
    raise ValueError(f"unknown key type {key_type!r}")


# Certificates -------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(common_name: str) -> x509.Name:
    # Most significant first, as CAs write names; RFC 4514 then reads "CN=..., O=...".
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certificate Portal Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    if "://" in value:
        return x509.UniformResourceIdentifier(value)
    if "@" in value:
        return x509.RFC822Name(value)
    return x509.DNSName(value)


def _sign(builder: x509.CertificateBuilder, key) -> x509.Certificate:
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


def make_ca(
    common_name: str = "Test Root CA",
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    *,
    issuer: Issuer | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issuer:
    """A root CA, or an intermediate CA when issuer is given."""
    key = key or rsa_key(2048, slot=100)
    not_before = not_before or _now() - dt.timedelta(days=1)
    not_after = not_after or not_before + dt.timedelta(days=3650)
    subject = _name(common_name)
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Issuer(_sign(builder, signer), key)


def make_leaf(
    issuer: Issuer | None,
    common_name: str = "client.example.test",
    *,
    sans: Iterable[str] = ("localhost", "127.0.0.1"),
    key_type: str = "rsa",
    key_size: int = 2048,
    curve: str = "P-256",
    key=None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    serial_number: int | None = None,
    client: bool = True,
    server: bool = True,
) -> Leaf:
    """An end-entity certificate issued by issuer, or self-signed when issuer is None."""
    key = key or make_key(key_type, key_size=key_size, curve=curve)
    not_before = not_before or _now() - dt.timedelta(days=1)
    not_after = not_after or not_before + dt.timedelta(days=365)
    subject = _name(common_name)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] * client + [ExtendedKeyUsageOID.SERVER_AUTH] * server
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    sans = list(sans)
    if sans:
        names = [_general_name(value) for value in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Leaf(_sign(builder, issuer.key if issuer else key), key)


def _certificate(item: x509.Certificate | Issuer | Leaf) -> x509.Certificate:
    return item if isinstance(item, x509.Certificate) else item.certificate


def certificate_pem(item: x509.Certificate | Issuer | Leaf) -> bytes:
    return _certificate(item).public_bytes(serialization.Encoding.PEM)


def certificate_der(item: x509.Certificate | Issuer | Leaf) -> bytes:
    return _certificate(item).public_bytes(serialization.Encoding.DER)


def key_pem(item: Issuer | Leaf) -> bytes:
    return item.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def key_der(item: Issuer | Leaf, password: str | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return item.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, encryption
    )


def write_pem_files(directory: Path, leaf: Leaf, chain: Iterable = (), *, name: str = "leaf"):
    """Write name.crt, name.key (mode 0600), name-chain.crt and name-fullchain.crt."""
    directory.mkdir(parents=True, exist_ok=True)
    chain_pem = b"".join(certificate_pem(item) for item in chain)
    certificate = directory / f"{name}.crt"
    certificate.write_bytes(certificate_pem(leaf))
    key = directory / f"{name}.key"
    key.touch(mode=0o600)
    key.write_bytes(key_pem(leaf))
    chain_path = None
    if chain_pem:
        chain_path = directory / f"{name}-chain.crt"
        chain_path.write_bytes(chain_pem)
    fullchain = directory / f"{name}-fullchain.crt"
    fullchain.write_bytes(certificate_pem(leaf) + chain_pem)
    return PemFiles(certificate, key, chain_path, fullchain)


# PKCS#12 files ------------------------------------------------------------------------------


def _encryption(password: str, encryption: str, iterations: int | None):
    fmt = serialization.PrivateFormat.PKCS12
    if encryption == "none":
        return serialization.NoEncryption()
    if encryption == "aes":
        if iterations is None:
            return serialization.BestAvailableEncryption(password.encode())
        return fmt.encryption_builder().kdf_rounds(iterations).build(password.encode())
    if encryption == "legacy":
        return (
            fmt.encryption_builder()
            .kdf_rounds(iterations or 2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(password.encode())
        )
    raise ValueError(f"unknown encryption {encryption!r}")


def make_pfx(
    leaf: Leaf | None,
    password: str = DEFAULT_PASSWORD,
    *,
    chain: Iterable = (),
    friendly_name: str | None = None,
    encryption: str = "aes",
    iterations: int | None = None,
    include_key: bool = True,
    include_certificate: bool = True,
) -> bytes:
    """A PKCS#12 file as cryptography writes it.

    encryption: "aes" (PBES2, AES-256, as BestAvailableEncryption), "legacy" (3DES and a SHA-1
    MAC, like older Windows) or "none" (no encryption; the password is ignored).
    """
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode() if friendly_name is not None else None,
        leaf.key if leaf and include_key else None,
        leaf.certificate if leaf and include_certificate else None,
        [_certificate(item) for item in chain] or None,
        _encryption(password, encryption, iterations),
    )


def make_legacy_pfx_with_openssl(
    leaf: Leaf,
    password: str,
    tmp_path: Path,
    *,
    chain: Iterable = (),
    friendly_name: str | None = None,
) -> bytes:
    """A PKCS#12 file as OpenSSL 1.x made them (RC2-40 for certificates, 3DES for the key)."""
    files = write_pem_files(tmp_path / "openssl-input", leaf, chain)
    out = tmp_path / "openssl-legacy.pfx"
    command = ["openssl", "pkcs12", "-export", "-legacy", "-passout", "env:PFX_PASSWORD"]
    command += ["-in", str(files.certificate), "-inkey", str(files.key), "-out", str(out)]
    if files.chain:
        command += ["-certfile", str(files.chain)]
    if friendly_name is not None:
        command += ["-name", friendly_name]
    environment = {**os.environ, "PFX_PASSWORD": password}
    subprocess.run(command, check=True, capture_output=True, env=environment, timeout=60)
    return out.read_bytes()


def make_pfx_with_openssl(leaf: Leaf, password: str, tmp_path: Path) -> bytes:
    """A PKCS#12 file as OpenSSL 3 makes it by default (PBES2, AES-256-CBC)."""
    files = write_pem_files(tmp_path / "openssl-input", leaf)
    out = tmp_path / "openssl.pfx"
    command = ["openssl", "pkcs12", "-export", "-passout", "env:PFX_PASSWORD"]
    command += ["-in", str(files.certificate), "-inkey", str(files.key), "-out", str(out)]
    environment = {**os.environ, "PFX_PASSWORD": password}
    subprocess.run(command, check=True, capture_output=True, env=environment, timeout=60)
    return out.read_bytes()

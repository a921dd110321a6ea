"""Keys, certificates and PKCS#12 files made at test time.

Plain functions, no Django: unit tests, view tests and the TLS gateway tests share them. RSA keys
are slow to generate, so one key per (size, slot) is made per test run and reused; ask for another
slot when a test needs two different keys of the same size.

The builders for broken files at the bottom edit the DER of good files with a tiny encoder kept
here on purpose, so that the fixtures do not depend on the code they test.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import os
import random
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


# A tiny DER encoder and splitter, for the broken files below ----------------------------------


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _split(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Consecutive definite-length elements as (tag, content, whole encoding)."""
    items = []
    offset = 0
    while offset < len(data):
        tag, first = data[offset], data[offset + 1]
        position = offset + 2
        if first & 0x80:
            size = first & 0x7F
            length = int.from_bytes(data[position : position + size], "big")
            position += size
        else:
            length = first
        end = position + length
        items.append((tag, data[position:end], data[offset:end]))
        offset = end
    return items


@dataclass(frozen=True)
class _Pfx:
    auth_safe_type: bytes  # the encoded OBJECT IDENTIFIER of the authSafe ContentInfo
    content_infos: list[bytes]  # encoded ContentInfo elements of the AuthenticatedSafe
    mac_data: bytes | None


def _open(pfx: bytes) -> _Pfx:
    [(_, outer, _)] = _split(pfx)
    _version, (_, auth_safe, _), *rest = _split(outer)
    (_, _, oid), (_, explicit, _) = _split(auth_safe)
    [(_, safe, _)] = _split(explicit)
    [(_, sequence, _)] = _split(safe)
    infos = [whole for _, _, whole in _split(sequence)]
    return _Pfx(oid, infos, rest[0][2] if rest else None)


_OIDS = {
    "data": "06092A864886F70D010701",
    "key_bag": "060B2A864886F70D010C0A0101",
    "shrouded_key_bag": "060B2A864886F70D010C0A0102",
    "certificate_bag": "060B2A864886F70D010C0A0103",
    "x509_certificate": "060A2A864886F70D01091601",
    "pbes2": "06092A864886F70D01050D",
    "pbkdf2": "06092A864886F70D01050C",
    "pbmac1": "06092A864886F70D01050E",
    "scrypt": "06092B06010401DA47040B",
    "hmac_sha256": "06082A864886F70D0209",
    "aes256_cbc": "060960864801650304012A",
    "sha256": "0609608648016503040201",
}


def _oid(name: str) -> bytes:
    return bytes.fromhex(_OIDS[name])


def _pkcs12_kdf(password: str, salt: bytes, purpose: int, iterations: int, size: int) -> bytes:
    """RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64)."""
    block = 64
    secret = (password.encode("utf-16-be") + b"\0\0") if password else b""

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = block * -(-len(value) // block)
        return (value * (length // len(value) + 1))[:length]

    diversifier = bytes([purpose]) * block
    material = bytearray(stretch(salt) + stretch(secret))
    out = b""
    while len(out) < size:
        digest = hashlib.sha256(diversifier + material).digest()
        for _ in range(iterations - 1):
            digest = hashlib.sha256(digest).digest()
        out += digest
        addend = int.from_bytes(stretch(digest), "big") + 1
        for start in range(0, len(material), block):
            piece = int.from_bytes(material[start : start + block], "big") + addend
            material[start : start + block] = (piece % (1 << (8 * block))).to_bytes(block, "big")
    return out[:size]


def _mac_data(password: str, content: bytes, iterations: int = 2048) -> bytes:
    salt = os.urandom(8)
    key = _pkcs12_kdf(password, salt, 3, iterations, 32)
    digest = hmac.new(key, content, hashlib.sha256).digest()
    algorithm = _tlv(0x30, _oid("sha256") + b"\x05\x00")
    digest_info = _tlv(0x30, algorithm + _tlv(0x04, digest))
    return _tlv(0x30, digest_info + _tlv(0x04, salt) + _integer(iterations))


def assemble_pfx(content_infos: Iterable[bytes], password: str | None) -> bytes:
    """A PFX made of the given ContentInfo elements, with a SHA-256 MAC unless password is None."""
    auth_safe_content = _tlv(0x30, b"".join(content_infos))
    auth_safe = _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, auth_safe_content)))
    mac = _mac_data(password, auth_safe_content) if password is not None else b""
    return _tlv(0x30, _integer(3) + auth_safe + mac)


def combine_pfx(*files: bytes, password: str | None = DEFAULT_PASSWORD) -> bytes:
    """One PFX holding the contents of all files (each must use the same password)."""
    return assemble_pfx([info for pfx in files for info in _open(pfx).content_infos], password)


def _replace_mac_data(pfx: bytes, mac_data: bytes) -> bytes:
    [(_, outer, _)] = _split(pfx)
    version, auth_safe, *_rest = _split(outer)
    return _tlv(0x30, version[2] + auth_safe[2] + mac_data)


def _safe_bag(kind: str, value: bytes) -> bytes:
    return _tlv(0x30, _oid(kind) + _tlv(0xA0, value))


def _certificate_bag(certificate: x509.Certificate) -> bytes:
    value = _tlv(0xA0, _tlv(0x04, certificate.public_bytes(serialization.Encoding.DER)))
    return _safe_bag("certificate_bag", _tlv(0x30, _oid("x509_certificate") + value))


def _data_content_info(bags: Iterable[bytes]) -> bytes:
    return _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, _tlv(0x30, b"".join(bags)))))


def make_plain_pfx(
    certificate: x509.Certificate | None, key_der: bytes | None, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX with an unencrypted key bag holding key_der (any bytes) and a plain certificate bag.

    Some tools write such files; the tests also use it for keys cryptography cannot write.
    """
    bags = [_safe_bag("key_bag", key_der)] if key_der is not None else []
    bags += [_certificate_bag(certificate)] if certificate is not None else []
    return assemble_pfx([_data_content_info(bags)], password)


def pbes2_algorithm(iterations: int) -> bytes:
    """An AlgorithmIdentifier for PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC."""
    prf = _tlv(0x30, _oid("hmac_sha256") + b"\x05\x00")
    kdf_parameters = _tlv(0x30, _tlv(0x04, bytes(16)) + _integer(iterations) + prf)
    kdf = _tlv(0x30, _oid("pbkdf2") + kdf_parameters)
    scheme = _tlv(0x30, _oid("aes256_cbc") + _tlv(0x04, bytes(16)))
    return _tlv(0x30, _oid("pbes2") + _tlv(0x30, kdf + scheme))


def scrypt_algorithm(cost: int, block_size: int = 8, parallel: int = 1) -> bytes:
    """An AlgorithmIdentifier for PBES2 with scrypt and AES-256-CBC."""
    parameters = _tlv(0x04, bytes(16)) + b"".join(
        _integer(value) for value in (cost, block_size, parallel, 32)
    )
    kdf = _tlv(0x30, _oid("scrypt") + _tlv(0x30, parameters))
    scheme = _tlv(0x30, _oid("aes256_cbc") + _tlv(0x04, bytes(16)))
    return _tlv(0x30, _oid("pbes2") + _tlv(0x30, kdf + scheme))


def make_pfx_with_shrouded_key(
    certificate: x509.Certificate, algorithm: bytes, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX whose encrypted key uses the given AlgorithmIdentifier (the ciphertext is junk)."""
    key = _safe_bag("shrouded_key_bag", _tlv(0x30, algorithm + _tlv(0x04, bytes(64))))
    return assemble_pfx([_data_content_info([key, _certificate_bag(certificate)])], password)


def make_pfx_with_pbmac1(leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD) -> bytes:
    """A PFX whose MacData uses PBMAC1 (RFC 9579) with the given PBKDF2 iterations (MAC is junk)."""
    hmac_sha256 = _tlv(0x30, _oid("hmac_sha256") + b"\x05\x00")
    kdf_parameters = _tlv(0x30, _tlv(0x04, bytes(16)) + _integer(iterations) + _integer(32))
    kdf = _tlv(0x30, _oid("pbkdf2") + kdf_parameters)
    algorithm = _tlv(0x30, _oid("pbmac1") + _tlv(0x30, kdf + hmac_sha256))
    digest_info = _tlv(0x30, algorithm + _tlv(0x04, bytes(32)))
    mac_data = _tlv(0x30, digest_info + _tlv(0x04, bytes(8)) + _integer(1))
    return _replace_mac_data(make_pfx(leaf, password), mac_data)


# Broken and refused files -------------------------------------------------------------------


def make_key_only_pfx(leaf: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    return make_pfx(leaf, password, include_certificate=False)


def make_certificate_only_pfx(
    leaf: Leaf, password: str = DEFAULT_PASSWORD, *, chain: Iterable = ()
) -> bytes:
    return make_pfx(leaf, password, chain=chain, include_key=False)


def make_mismatched_pfx(leaf: Leaf, other: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """The certificate of leaf with the private key of other (cryptography refuses to write it)."""
    return combine_pfx(
        make_certificate_only_pfx(leaf, password),
        make_key_only_pfx(other, password),
        password=password,
    )


def make_two_key_pfx(leaf: Leaf, other: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """Two certificates, each with its private key, in one file."""
    return combine_pfx(make_pfx(leaf, password), make_pfx(other, password), password=password)


def make_pfx_with_mac_iterations(
    leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD
) -> bytes:
    """A PFX whose MAC claims the given iteration count (the MAC itself is not recomputed)."""
    pfx = make_pfx(leaf, password)
    [(_, outer, _)] = _split(pfx)
    mac_data = _split(outer)[2][1]
    digest_info, salt, _iterations = _split(mac_data)
    return _replace_mac_data(pfx, _tlv(0x30, digest_info[2] + salt[2] + _integer(iterations)))


_MARKER_ROUNDS = 0x010101  # encodes as 02 03 01 01 01: easy to find, cheap to compute


def make_pfx_with_encryption_iterations(
    leaf: Leaf, iterations: int, password: str = DEFAULT_PASSWORD, *, copies: int = 1
) -> bytes:
    """A PFX whose encrypted parts claim the given iteration count; copies repeats them.

    iterations must encode in three bytes (32768 to 8388607). The MAC stays valid: the iteration
    counts sit inside the MAC-protected content, so the MAC is recomputed.
    """
    marker = _integer(_MARKER_ROUNDS)
    replacement = _integer(iterations)
    if len(replacement) != len(marker):
        raise ValueError("iterations must encode in three bytes")
    pfx = make_pfx(leaf, password, iterations=_MARKER_ROUNDS)
    infos = _open(pfx).content_infos
    patched = [info.replace(marker, replacement) for info in infos]
    if sum(info.count(marker) for info in infos) != 2:
        raise AssertionError("expected two encrypted parts (certificates and key)")
    return assemble_pfx(patched * copies, password)


def make_ber_pfx(leaf: Leaf, password: str = DEFAULT_PASSWORD, *, chunk: int = 1000) -> bytes:
    """A PFX in BER as Windows and NSS write them: indefinite lengths, a chunked OCTET STRING."""
    pfx = _open(make_pfx(leaf, password))
    content = _tlv(0x30, b"".join(pfx.content_infos))
    pieces = b"".join(_tlv(0x04, content[i : i + chunk]) for i in range(0, len(content), chunk))
    octets = b"\x24\x80" + pieces + b"\0\0"
    auth_safe = b"\x30\x80" + pfx.auth_safe_type + b"\xa0\x80" + octets + b"\0\0\0\0"
    return b"\x30\x80" + _integer(3) + auth_safe + (pfx.mac_data or b"") + b"\0\0"


def make_pfx_with_version(leaf: Leaf, version: int, password: str = DEFAULT_PASSWORD) -> bytes:
    [(_, outer, _)] = _split(make_pfx(leaf, password))
    _version, *rest = _split(outer)
    return _tlv(0x30, _integer(version) + b"".join(whole for _, _, whole in rest))


def make_pfx_with_damaged_content(leaf: Leaf, password: str = DEFAULT_PASSWORD) -> bytes:
    """A PFX whose outer structure is fine but whose AuthenticatedSafe is not DER at all."""
    garbage = random.Random(7).randbytes(64)
    auth_safe = _tlv(0x30, _oid("data") + _tlv(0xA0, _tlv(0x04, b"\x30\x05" + garbage)))
    return _tlv(0x30, _integer(3) + auth_safe)


def random_bytes(size: int = 2048, seed: int = 1) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    data[0] = 0x8F  # never a SEQUENCE, so the result does not depend on the seed's luck
    return bytes(data)


def truncate(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def append_trailing_bytes(data: bytes, extra: bytes = b"\x00trailing garbage\n") -> bytes:
    return data + extra

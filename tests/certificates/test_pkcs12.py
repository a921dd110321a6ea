"""certificates/pkcs12.py: reach load_pkcs12's result, or leave the file to it.

Each file is loaded both ways: by quick_load() and by cryptography's pkcs12.load_pkcs12 (the
slow path, which validates the RSA key with OpenSSL). Where quick_load answers, the key, the
certificate, the chain and the friendly names must be the same; where load_pkcs12 refuses a file,
quick_load must not answer. load_pfx is also run with the quick loader switched off, to show that
the portal's verdict (result or error code) does not depend on which loader opened the file.
"""

import hashlib
import hmac
import math
import os
import subprocess
from unittest import mock

import pytest
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates.pfx import load_pfx
from certificates.pkcs12 import quick_load, rsa_numbers_are_consistent
from certificates.upload_errors import PfxError
from tests import crafted_pfx, pki

PASSWORD = "pässwörd €"  # not ASCII: the PKCS#12 KDF takes it as a BMPString, PBKDF2 as UTF-8
ENCRYPTED_DATA = bytes.fromhex("06092A864886F70D010706")
BER_WARNING = "ignore:PKCS#12 bundle could not be parsed as DER:UserWarning"

# `openssl pkcs12 -export` options, and whether quick_load opens such a file itself.
OPENSSL_FILES = [
    ([], True),  # OpenSSL 3: PBES2, PBKDF2-SHA256, AES-256-CBC, a SHA-256 MAC
    (["-legacy"], True),  # RC2-40 certificates (decrypted by OpenSSL), 3DES key, SHA-1 MAC
    (["-macalg", "sha1"], True),
    (["-macalg", "sha512"], True),
    (["-nomaciter"], True),  # a MAC with the default (absent) iteration count of 1
    (["-keypbe", "AES-128-CBC", "-certpbe", "AES-128-CBC"], True),
    (["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC"], True),
    (["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES"], True),
    (["-legacy", "-keypbe", "PBE-SHA1-RC2-128"], True),
    (["-legacy", "-certpbe", "PBE-SHA1-RC2-40", "-keypbe", "PBE-SHA1-3DES"], True),
    (["-legacy", "-keypbe", "PBE-SHA1-RC2-40"], False),  # cryptography's RC2 takes 128-bit keys
    (["-certpbe", "NONE"], True),
    (["-nomac"], False),
]


def _built(algorithm, mac_hash=None, rounds=None):
    """An encryption for serialize_key_and_certificates made by PKCS12's encryption builder."""

    def encryption(secret: bytes):
        builder = serialization.PrivateFormat.PKCS12.encryption_builder()
        builder = builder.key_cert_algorithm(algorithm)
        builder = builder.hmac_hash(mac_hash) if mac_hash else builder
        builder = builder.kdf_rounds(rounds) if rounds else builder
        return builder.build(secret)

    return encryption


AES, TRIPLE_DES = pkcs12.PBES.PBESv2SHA256AndAES256CBC, pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
# cryptography's writer: encryption for a password, and whether quick_load opens such a file.
CRYPTOGRAPHY_FILES = {
    "best-available": (serialization.BestAvailableEncryption, True),
    "aes-sha512-mac": (_built(AES, hashes.SHA512(), rounds=5000), True),
    "3des-sha1-mac": (_built(TRIPLE_DES, hashes.SHA1()), True),
    "3des-sha256-mac": (_built(TRIPLE_DES), True),
}


@pytest.fixture(scope="module")
def ec_leaf(intermediate):
    return pki.make_leaf(intermediate, "ec-client.example.test", key_type="ec", curve="P-384")


@pytest.fixture(scope="module")
def openssl_pfx(tmp_path_factory, leaf, ec_leaf, intermediate, root):
    """A file written by `openssl pkcs12 -export` with the given options, with chain and name."""
    directory = tmp_path_factory.mktemp("openssl-pfx")

    def make(options, key="rsa", password=PASSWORD, chain=True):
        item = leaf if key == "rsa" else ec_leaf
        files = pki.write_pem_files(directory / key, item, [intermediate, root] if chain else [])
        out = directory / "out.pfx"
        command = ["openssl", "pkcs12", "-export", "-passout", "env:PFX_PASSWORD"]
        command += ["-in", str(files.certificate), "-inkey", str(files.key), "-out", str(out)]
        command += ["-certfile", str(files.chain)] if files.chain else []
        command += ["-name", "Client certificate ü", *options]
        environment = {**os.environ, "PFX_PASSWORD": password}
        subprocess.run(command, check=True, capture_output=True, env=environment, timeout=60)
        return out.read_bytes()

    return make


def slow_load(data: bytes, password: str):
    """load_pkcs12's result, or None when it refuses the file."""
    try:
        return pkcs12.load_pkcs12(data, password.encode())
    except ValueError:
        return None


def key_der(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def assert_same_as_slow(data: bytes, password: str = PASSWORD, *, handled: bool = True):
    """quick_load answers (or not, as expected) and then agrees with load_pkcs12."""
    quick = quick_load(data, password)
    slow = slow_load(data, password)
    assert (quick is not None) == handled
    if quick is None:
        return slow
    assert slow is not None, "quick_load opened a file that load_pkcs12 refuses"
    assert key_der(quick.key) == key_der(slow.key)
    assert quick.cert == slow.cert  # certificate and friendly name
    assert quick.additional_certs == slow.additional_certs  # order and friendly names
    return slow


def verdicts(data: bytes, password: str = PASSWORD):
    """load_pfx's verdict with the quick loader, and without it."""

    def verdict():
        try:
            parsed = load_pfx(data, password)
        except PfxError as error:
            return error.code
        return (parsed.certificate, parsed.chain, parsed.friendly_name, parsed.private_key_der())

    quick = verdict()
    with mock.patch("certificates.pfx.quick_load", return_value=None):
        slow = verdict()
    return quick, slow


# The same result as load_pkcs12 ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["rsa", "ec"])
@pytest.mark.parametrize(
    ("options", "handled"), OPENSSL_FILES, ids=[" ".join(o) or "default" for o, _ in OPENSSL_FILES]
)
def test_it_reads_files_made_by_openssl_as_load_pkcs12_does(openssl_pfx, options, handled, key):
    data = openssl_pfx(options, key)

    slow = assert_same_as_slow(data, handled=handled)
    assert slow is not None
    assert slow.cert.friendly_name == "Client certificate ü".encode()
    assert len(slow.additional_certs) == 2


@pytest.mark.parametrize("key", ["rsa", "ec"])
@pytest.mark.parametrize("encryption", CRYPTOGRAPHY_FILES)
def test_it_reads_files_made_by_cryptography_as_load_pkcs12_does(
    leaf, ec_leaf, intermediate, root, encryption, key
):
    make_encryption, handled = CRYPTOGRAPHY_FILES[encryption]
    item = leaf if key == "rsa" else ec_leaf
    data = pkcs12.serialize_key_and_certificates(
        b"from cryptography",
        item.key,
        item.certificate,
        [intermediate.certificate, root.certificate],
        make_encryption(PASSWORD.encode()),
    )

    slow = assert_same_as_slow(data, handled=handled)
    assert slow.cert.certificate == item.certificate
    assert slow.additional_certs[0].certificate == intermediate.certificate


@pytest.mark.filterwarnings(BER_WARNING)  # the crafted MacData spells out its default count
@pytest.mark.parametrize(("prf", "handled"), [("sha1", True), ("sha256", False)])
def test_it_reads_a_pbmac1_file(leaf, prf, handled):
    # RFC 9579: PBKDF2 makes the key (its PRF left out here: HMAC-SHA1 by default), HMAC-SHA256
    # the MAC. Computed by hashlib: with the wrong PRF, both loaders refuse the file.
    data = crafted_pfx.make_pfx_with_pbmac1(leaf, 2048, PASSWORD)
    content = crafted_pfx._tlv(0x30, b"".join(crafted_pfx._open(data).content_infos))
    key = hashlib.pbkdf2_hmac(prf, PASSWORD.encode(), bytes(16), 2048, 32)
    junk = b"\x04\x20" + bytes(32)
    assert data.count(junk) == 1
    signed = data.replace(junk, b"\x04\x20" + hmac.new(key, content, hashlib.sha256).digest())

    assert (assert_same_as_slow(signed, handled=handled) is not None) == handled
    assert slow_load(data, PASSWORD) is None  # the unsigned one
    assert quick_load(data, PASSWORD) is None


@pytest.mark.parametrize("password", ["correct horse", "pässwörd-€-日本", "clé 🔐 emoji"])
def test_it_takes_the_password_as_openssl_does(openssl_pfx, password):
    # Outside the BMP, the BMPString of the PKCS#12 KDF needs surrogate pairs.
    for options in ([], ["-legacy"]):
        assert_same_as_slow(openssl_pfx(options, password=password, chain=False), password)


def test_it_reads_a_file_without_chain(openssl_pfx):
    slow = assert_same_as_slow(openssl_pfx([], chain=False))
    assert slow.additional_certs == []


@pytest.mark.filterwarnings(BER_WARNING)
def test_it_reads_a_ber_encoded_file(leaf):
    assert_same_as_slow(crafted_pfx.make_ber_pfx(leaf, PASSWORD))


def test_it_reads_an_unencrypted_key_bag(leaf):
    assert_same_as_slow(crafted_pfx.make_plain_pfx(leaf.certificate, pki.key_der(leaf), PASSWORD))


def test_it_pairs_the_key_as_openssl_does(leaf, intermediate):
    # The certificate may come after others; one that does not match the key stays in the chain.
    data = crafted_pfx.combine_pfx(
        crafted_pfx.make_certificate_only_pfx(leaf, PASSWORD, chain=[intermediate]),
        crafted_pfx.make_key_only_pfx(leaf, PASSWORD),
        password=PASSWORD,
    )
    slow = assert_same_as_slow(data)
    assert slow.cert.certificate == leaf.certificate


@pytest.mark.parametrize(
    "make",
    [
        lambda leaf, other: crafted_pfx.make_mismatched_pfx(leaf, other, PASSWORD),
        lambda leaf, other: crafted_pfx.make_key_only_pfx(leaf, PASSWORD),
        lambda leaf, other: pki.make_pfx(pki.make_leaf(None, key_size=1024), PASSWORD),
    ],
    ids=["key-of-another-certificate", "key-without-certificate", "rsa-1024"],
)
def test_it_gives_load_pfx_the_same_refusals(leaf, ec_leaf, make):
    data = make(leaf, ec_leaf)
    assert_same_as_slow(data)
    quick, slow = verdicts(data)
    assert quick == slow
    assert isinstance(quick, str)


# Left to load_pkcs12 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda leaf, other: crafted_pfx.make_two_key_pfx(leaf, other, PASSWORD),
        lambda leaf, other: crafted_pfx.make_certificate_only_pfx(leaf, PASSWORD),
        lambda leaf, other: pki.make_pfx(pki.make_leaf(None, key_type="ed25519"), PASSWORD),
        lambda leaf, other: crafted_pfx.make_pfx_with_shrouded_key(
            leaf.certificate, crafted_pfx.scrypt_algorithm(2**14), PASSWORD
        ),
        lambda leaf, other: crafted_pfx.assemble_pfx(
            crafted_pfx._open(pki.make_pfx(leaf, PASSWORD)).content_infos, None
        ),
    ],
    ids=["two-keys", "no-key", "ed25519", "scrypt", "no-mac"],
)
def test_it_leaves_other_files_to_load_pkcs12(leaf, ec_leaf, make):
    data = make(leaf, ec_leaf)
    assert quick_load(data, PASSWORD) is None
    quick, slow = verdicts(data)
    assert quick == slow


def _encrypted_part(bags: list[bytes], password: str) -> bytes:
    """An EncryptedData ContentInfo: PBKDF2-HMAC-SHA256 (2048, zero salt), AES-256-CBC (zero IV)."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes(16), 2048, 32)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(crafted_pfx._tlv(0x30, b"".join(bags))) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    algorithm = crafted_pfx.pbes2_algorithm(2048)
    content = crafted_pfx._tlv(
        0x30, crafted_pfx._oid("data") + algorithm + crafted_pfx._tlv(0x80, ciphertext)
    )
    encrypted_data = crafted_pfx._tlv(0x30, b"\x02\x01\x00" + content)
    return crafted_pfx._tlv(0x30, ENCRYPTED_DATA + crafted_pfx._tlv(0xA0, encrypted_data))


def test_it_leaves_a_key_inside_an_encrypted_part_to_load_pkcs12(leaf, ec_leaf):
    # OpenSSL keeps the first key it meets: here the one it decrypts, not the one in the clear.
    hidden = _encrypted_part(
        [
            crafted_pfx._safe_bag("key_bag", key_der(ec_leaf.key)),
            crafted_pfx._certificate_bag(ec_leaf.certificate),
        ],
        PASSWORD,
    )
    clear = crafted_pfx._data_content_info(
        [
            crafted_pfx._safe_bag("key_bag", key_der(leaf.key)),
            crafted_pfx._certificate_bag(leaf.certificate),
        ]
    )
    data = crafted_pfx.assemble_pfx([hidden, clear], PASSWORD)

    assert quick_load(data, PASSWORD) is None
    assert slow_load(data, PASSWORD).cert.certificate == ec_leaf.certificate
    quick, slow = verdicts(data)
    assert quick == slow


def test_it_leaves_an_empty_password_to_load_pkcs12(leaf):
    # OpenSSL tries "no password" and the empty one; quick_load does not guess.
    data = pki.make_pfx(leaf, "", encryption="none")
    assert quick_load(data, "") is None
    assert load_pfx(data, "").certificate == leaf.certificate


@pytest.mark.parametrize("password", ["wrong password", PASSWORD.upper(), PASSWORD + " "])
def test_it_refuses_a_wrong_password_as_load_pkcs12_does(openssl_pfx, password):
    for options in ([], ["-legacy"]):
        data = openssl_pfx(options, chain=False)
        assert quick_load(data, password) is None
        assert verdicts(data, password) == ("wrong_password_or_damaged",) * 2


def test_a_password_with_a_nul_is_wrong_not_a_crash(leaf):
    # cryptography (its Rust binding) panics on it; load_pfx refuses it before.
    data = pki.make_pfx(leaf, "pass\0word")
    assert quick_load(data, "pass\0word") is None
    assert verdicts(data, "pass\0word") == ("wrong_password_or_damaged",) * 2


@pytest.mark.parametrize("options", [[], ["-legacy"]], ids=["aes", "legacy"])
def test_no_flipped_byte_goes_unnoticed(openssl_pfx, options):
    data = openssl_pfx(options, chain=False)
    assert quick_load(data, PASSWORD) is not None
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        assert quick_load(bytes(damaged), PASSWORD) is None, f"byte {position}"
    # load_pfx, both ways: an error, the same one (every 37th byte, and the MAC at the end).
    for position in [*range(0, len(data), 37), *range(len(data) - 90, len(data), 3)]:
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        quick, slow = verdicts(bytes(damaged))
        assert quick == slow, f"byte {position}"
        assert isinstance(quick, str), f"byte {position}"


# The RSA key's numbers -------------------------------------------------------------------------


def _numbers(key: rsa.RSAPrivateKey, **changes) -> rsa.RSAPrivateNumbers:
    numbers = key.private_numbers()
    fields = {
        "p": numbers.p,
        "q": numbers.q,
        "d": numbers.d,
        "dmp1": numbers.dmp1,
        "dmq1": numbers.dmq1,
        "iqmp": numbers.iqmp,
        "public_numbers": numbers.public_numbers,
    }
    fields.update(changes)
    return rsa.RSAPrivateNumbers(**fields)


def _with_d(numbers: rsa.RSAPrivateNumbers, d: int) -> dict:
    return {"d": d, "dmp1": d % (numbers.p - 1), "dmq1": d % (numbers.q - 1)}


def _broken_numbers(key: rsa.RSAPrivateKey) -> dict[str, rsa.RSAPrivateNumbers]:
    n = key.private_numbers()
    return {
        "d-not-an-inverse-of-e": _numbers(key, **_with_d(n, n.d + 2)),
        "wrong-dmp1": _numbers(key, dmp1=n.dmp1 + 2),
        "wrong-dmq1": _numbers(key, dmq1=n.dmq1 - 2),
        "wrong-iqmp": _numbers(key, iqmp=n.iqmp + 1),
        "iqmp-not-reduced": _numbers(key, iqmp=n.iqmp + n.p),
        "p-and-q-swapped-crt-not": _numbers(key, p=n.q, q=n.p),
    }


BROKEN = list(_broken_numbers(pki.rsa_key()))


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("encrypted", [False, True], ids=["key-bag", "shrouded-key-bag"])
def test_it_refuses_malformed_rsa_keys_as_load_pkcs12_does(leaf, case, encrypted):
    numbers = _broken_numbers(leaf.key)[case]
    assert not rsa_numbers_are_consistent(numbers)
    broken = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    if encrypted:
        data = pki.make_pfx(pki.Leaf(leaf.certificate, broken), PASSWORD)
    else:
        data = crafted_pfx.make_plain_pfx(leaf.certificate, key_der(broken), PASSWORD)

    assert quick_load(data, PASSWORD) is None
    assert slow_load(data, PASSWORD) is None
    assert verdicts(data) == ("wrong_password_or_damaged",) * 2


@pytest.mark.parametrize(
    "change",
    [
        lambda n: {},
        lambda n: {"p": n.q, "q": n.p, "dmp1": n.dmq1, "dmq1": n.dmp1, "iqmp": pow(n.p, -1, n.q)},
        # Another valid private exponent: d plus lcm(p-1, q-1).
        lambda n: _with_d(n, n.d + math.lcm(n.p - 1, n.q - 1)),
    ],
    ids=["as-generated", "p-and-q-swapped", "d-plus-lcm"],
)
def test_it_accepts_consistent_rsa_keys_as_load_pkcs12_does(leaf, change):
    numbers = _numbers(leaf.key, **change(leaf.key.private_numbers()))
    assert rsa_numbers_are_consistent(numbers)
    key = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    assert_same_as_slow(crafted_pfx.make_plain_pfx(leaf.certificate, key_der(key), PASSWORD))


def test_it_does_not_test_the_primes_for_primality(root):
    # The one check left out (see rsa_numbers_are_consistent): a modulus of three primes whose
    # key names two of them as "p". Only the owner of such a key can write it; load_pkcs12
    # refuses it, quick_load does not. This test is here to show the difference, not to want it.
    small = rsa.generate_private_key(65537, 1024).private_numbers()
    q = rsa.generate_private_key(65537, 2048).private_numbers().p
    p = small.p * small.q
    e = 65537
    d = pow(e, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
    )
    assert rsa_numbers_are_consistent(numbers)
    key = numbers.private_key(unsafe_skip_rsa_key_validation=True)
    leaf = pki.make_leaf(root, "three-primes.example.test", key=key)
    data = crafted_pfx.make_plain_pfx(leaf.certificate, key_der(key), PASSWORD)

    assert slow_load(data, PASSWORD) is None
    assert quick_load(data, PASSWORD) is not None


def test_it_checks_the_basic_shape_of_the_numbers():
    n = pki.rsa_key().private_numbers()
    public = n.public_numbers
    even_e = rsa.RSAPublicNumbers(65536, public.n)
    assert rsa_numbers_are_consistent(n)
    assert not rsa_numbers_are_consistent(_numbers(pki.rsa_key(), public_numbers=even_e))
    assert not rsa_numbers_are_consistent(_numbers(pki.rsa_key(), d=-n.d))
    other = rsa.RSAPublicNumbers(public.e, public.n + 2)
    assert not rsa_numbers_are_consistent(_numbers(pki.rsa_key(), public_numbers=other))

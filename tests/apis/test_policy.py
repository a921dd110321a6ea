import re

import pytest

from apis.policy import (
    DEFAULT_POLICY,
    BasicCredentials,
    CertificateReference,
    Policy,
    PolicyError,
    normalize_thumbprint,
    parse,
)
from apis.policy_editing import set_gateway_credentials

THUMBPRINT = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"


def policy_with_inbound(*lines: str) -> str:
    inbound = "".join(f"        {line}\n" for line in lines)
    return f"<policies>\n    <inbound>\n{inbound}    </inbound>\n</policies>"


def error_of(xml_text, **kwargs) -> PolicyError:
    with pytest.raises(PolicyError) as excinfo:
        parse(xml_text, **kwargs)
    return excinfo.value


# Parsing


def test_default_policy_has_no_credentials():
    assert parse(DEFAULT_POLICY) == Policy()
    assert DEFAULT_POLICY.splitlines()[:3] == ["<policies>", "    <inbound>", "        <base />"]
    assert parse(DEFAULT_POLICY).describe() == ["Sends no gateway credentials to the back end"]


def test_it_reads_a_certificate_id():
    policy = parse(
        policy_with_inbound("<base />", '<authentication-certificate certificate-id="my-cert" />')
    )
    assert policy.certificate == CertificateReference(certificate_id="my-cert")
    assert policy.basic is None


def test_it_reads_and_normalises_a_thumbprint():
    policy = parse(
        policy_with_inbound(f'<authentication-certificate thumbprint="{THUMBPRINT.lower()}" />')
    )
    assert policy.certificate == CertificateReference(thumbprint=THUMBPRINT)


def test_it_reads_basic_credentials_and_keeps_the_password_out_of_repr():
    policy = parse(
        policy_with_inbound('<authentication-basic username="svc" password="s3cr&amp;t" />')
    )
    assert policy.basic == BasicCredentials("svc", "s3cr&t")
    assert "s3cr" not in repr(policy)


def test_it_reads_the_backend():
    assert parse(policy_with_inbound('<set-backend-service backend-id="b1" />')).backend_id == "b1"
    policy = parse(policy_with_inbound('<set-backend-service base-url="https://api.example/v1" />'))
    assert policy.backend_url == "https://api.example/v1"


def test_describe():
    policy = Policy(certificate=CertificateReference(certificate_id="my-cert"), backend_id="b1")
    assert policy.describe() == [
        "Authenticates to the back end with client certificate my-cert",
        "Sends requests to backend b1",
    ]
    policy = Policy(
        certificate=CertificateReference(thumbprint=THUMBPRINT), backend_url="https://x.example"
    )
    assert policy.describe() == [
        f"Authenticates to the back end with the certificate with thumbprint {THUMBPRINT}",
        "Sends requests to https://x.example",
    ]
    basic = Policy(basic=BasicCredentials("svc", "secret")).describe()
    assert basic == ["Authenticates to the back end with Basic authentication as svc"]


def test_it_accepts_bytes_an_xml_declaration_and_a_bom():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n' + policy_with_inbound(
        "<!-- café -->", '<authentication-certificate certificate-id="c1" />'
    )
    assert parse(text.encode("utf-8")).certificate.certificate_id == "c1"
    assert parse("\ufeff" + text).certificate.certificate_id == "c1"
    assert parse(b"\xef\xbb\xbf" + text.encode()).certificate.certificate_id == "c1"


def test_it_allows_unknown_policies_anywhere():
    policy = parse(
        """<policies>
    <inbound>
        <base />
        <rate-limit calls="20" renewal-period="90" />
        <choose>
            <when condition="@(true)"><set-header name="x" exists-action="override" /></when>
        </choose>
        <set-backend-service backend-id="b1" />
    </inbound>
    <outbound><set-backend-service backend-id="ignored" /><cors>text</cors></outbound>
</policies>"""
    )
    assert policy == Policy(backend_id="b1")


# Thumbprints


@pytest.mark.parametrize(
    "text",
    [
        THUMBPRINT,
        THUMBPRINT.lower(),
        "ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01",
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01",
        "ab-cd-ef-01-23-45-67-89-AB-CD-EF-01-23-45-67-89-ab-cd-ef-01",
        "\u200e" + THUMBPRINT,
        "\ufeff" + THUMBPRINT + "\n",
        "\u200bAB\u200bCD" + THUMBPRINT[4:] + "\u200f",
        "AB\u00a0CD\u2060" + THUMBPRINT[4:],
        "\tab cd:ef" + THUMBPRINT[6:].lower() + "  ",
    ],
)
def test_normalize_thumbprint(text):
    assert normalize_thumbprint(text) == THUMBPRINT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            THUMBPRINT[:-2],
            "must be 40 hexadecimal digits (the SHA-1 of the certificate); this one has 38",
        ),
        (THUMBPRINT + "AB", "this one has 42"),
        ("", "this one has 0"),
        (THUMBPRINT[:-1] + "G", "contains 'G'; use only hexadecimal digits"),
        (THUMBPRINT[:-1] + "\u0660", "contains"),
        (THUMBPRINT[:-1] + "\uff21", "contains"),
    ],
)
def test_normalize_thumbprint_rejects(text, message):
    with pytest.raises(PolicyError, match=re.escape(message)):
        normalize_thumbprint(text)


def test_a_bad_thumbprint_in_a_policy_names_its_line():
    error = error_of(
        policy_with_inbound("<base />", '<authentication-certificate thumbprint="ABCD" />')
    )
    assert error.line == 4
    assert str(error).startswith("Line 4: The thumbprint must be 40 hexadecimal digits")


# Hostile XML


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE policies [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<policies><inbound><authentication-basic username="&lol9;" password="x" /></inbound></policies>"""


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def hostile_documents(secret_file):
    uri = secret_file.as_uri()
    return {
        "billion laughs": BILLION_LAUGHS,
        "external entity": (
            f'<!DOCTYPE policies [<!ENTITY x SYSTEM "{uri}">]>\n'
            '<policies><inbound><authentication-basic username="u" password="&x;" />'
            "</inbound></policies>"
        ),
        "external entity in text": (
            f'<!DOCTYPE policies [<!ENTITY x SYSTEM "{uri}">]>\n<policies>&x;</policies>'
        ),
        "external dtd": f'<!DOCTYPE policies SYSTEM "{uri}">\n<policies />',
        "public dtd": (
            '<!DOCTYPE policies PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:9/x.dtd">\n<policies />'
        ),
        "parameter entities": (
            f'<!DOCTYPE policies [<!ENTITY % p SYSTEM "{uri}"> %p;]>\n<policies />'
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "billion laughs",
        "external entity",
        "external entity in text",
        "external dtd",
        "public dtd",
        "parameter entities",
    ],
)
def test_hostile_xml_is_refused(secret_file, name, monkeypatch):
    def no_file_access(*args, **kwargs):
        raise AssertionError("the parser tried to open a file")

    monkeypatch.setattr("builtins.open", no_file_access)
    document = hostile_documents(secret_file)[name]
    for source in (document, document.encode()):
        error = error_of(source)
        assert "document type declaration" in error.message
        assert error.line in (1, 2)
        assert "TOP-SECRET" not in str(error)
        assert "lollol" not in str(error)
    with pytest.raises(PolicyError):
        set_gateway_credentials(document, certificate_id="c1")


def test_an_undeclared_entity_is_refused():
    error = error_of("<policies>\n<inbound>&xxe;</inbound></policies>")
    assert error.line == 2
    assert "Unknown entity at column 10" in error.message


# Malformed input


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "<policies>\n    <inbound>\n    </inbund>\n</policies>",
            3,
            "does not match <inbound>, which was opened on line 2",
        ),
        ("<policies>\n    <inbound>\n", 3, "ends before <inbound> (opened on line 2) is closed"),
        (
            "<policies>\n  <inbound a=1 />\n</policies>",
            2,
            "not well-formed XML: not well-formed (invalid token) (column 14)",
        ),
        ("<policies />\n<policies />", 2, "junk after document element"),
        ('<policies>\n<inbound a="1" a="2" />\n</policies>', 2, "duplicate attribute"),
        (
            "<policies>\n\n <x><y></x></y>\n</policies>",
            3,
            "does not match <y>, which was opened on line 3",
        ),
        ("hello", 1, "not well-formed XML: syntax error (column 1)"),
        ("<policies>\x01</policies>", 1, "invalid token"),
    ],
)
def test_malformed_xml_names_the_line(text, line, message):
    error = error_of(text)
    assert error.line == line
    assert message in error.message
    assert str(error) == f"Line {line}: {error.message}"


def test_invalid_utf8_names_the_line():
    error = error_of(b"<policies>\n<inbound>\n<!-- \xff -->\n</inbound></policies>")
    assert (error.line, error.message) == (3, "The policy is not valid UTF-8 text.")


def test_lone_surrogates_name_the_line():
    assert error_of("<policies>\n<!-- \ud800 --></policies>").line == 2


@pytest.mark.parametrize("text", ["", "   \n", "\ufeff", b""])
def test_empty_policy(text):
    assert str(error_of(text)) == "The policy is empty."


def test_size_cap():
    padding = "<!--" + "x" * 70_000 + "-->"
    text = f"<policies>{padding}</policies>"
    error = error_of(text)
    assert error.line is None
    assert str(error) == "The policy is larger than the limit of 65,536 bytes."
    assert error_of(text.encode()).message == error.message
    assert parse(text, max_bytes=100_000) == Policy()
    # The cap counts bytes, not characters.
    multibyte = "<policies><!--" + "é" * 40_000 + "--></policies>"
    assert len(multibyte) < 65_536
    assert "larger than the limit" in error_of(multibyte).message
    with pytest.raises(PolicyError, match="larger than the limit of 10 bytes"):
        set_gateway_credentials(DEFAULT_POLICY, max_bytes=10)


# Structure


CERT = "authentication-certificate"
BASIC = "authentication-basic"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("<policy>\n</policy>", 1, "The root element must be <policies>, not <policy>."),
        ("<policies>\n  <inbound />\n  <Inbound />\n</policies>", 3, "<Inbound> is not a policy"),
        (
            "<policies>\n  <inbound />\n  <backend />\n  <inbound />\n</policies>",
            4,
            "<inbound> appears more than once (first on line 2).",
        ),
        (
            f"<policies>\n  <backend>\n    <{CERT} certificate-id='c1' />\n  </backend>\n"
            "</policies>",
            3,
            f"<{CERT}> is only allowed directly inside <inbound>.",
        ),
        (
            f"<policies>\n  <{BASIC} username='u' password='p' />\n</policies>",
            2,
            f"<{BASIC}> is not a policy section",
        ),
        (
            policy_with_inbound(
                "<choose><when condition='x'>",
                f"<{CERT} certificate-id='c1' />",
                "</when></choose>",
            ),
            4,
            "only allowed directly inside <inbound>",
        ),
        (
            policy_with_inbound(
                f'<{CERT} certificate-id="c1" />', f'<{CERT} certificate-id="c2" />'
            ),
            4,
            f"only one authentication policy; <{CERT}> is already on line 3",
        ),
        (
            policy_with_inbound(
                f"<{CERT} certificate-id='c1' />", "", f"<{BASIC} username='u' password='p' />"
            ),
            5,
            "only one authentication policy",
        ),
        (
            policy_with_inbound(f"<{CERT}", f'certificate-id="c1" thumbprint="{THUMBPRINT}" />'),
            3,
            "needs exactly one of certificate-id and thumbprint",
        ),
        (policy_with_inbound("", f"<{CERT} />"), 4, "needs exactly one of certificate-id and"),
        (
            policy_with_inbound(f"<{CERT} certificate-id='has space' />"),
            3,
            "certificate-id 'has space' is not valid: use 1 to 80 letters",
        ),
        (policy_with_inbound(f"<{CERT} certificate-id='{'c' * 81}' />"), 3, "is not valid"),
        (
            policy_with_inbound(f"<{CERT} certificate-id='c1' body='x' />"),
            3,
            "unknown attribute 'body'; it accepts certificate-id and thumbprint",
        ),
        (policy_with_inbound(f"<{BASIC} username='u' />"), 3, "needs both a username and a"),
        (
            policy_with_inbound(f"<{BASIC} username='a:b' password='p' />"),
            3,
            "username cannot contain ':'",
        ),
        (policy_with_inbound(f"<{BASIC} username='' password='p' />"), 3, "username is empty"),
        (
            policy_with_inbound("<set-backend-service />"),
            3,
            "needs exactly one of backend-id and base-url",
        ),
        (
            policy_with_inbound("<set-backend-service base-url='ftp://x' />"),
            3,
            "'ftp://x' is not an absolute http:// or https:// URL",
        ),
        (
            policy_with_inbound(
                "<set-backend-service backend-id='b1' />", "<set-backend-service backend-id='b2' />"
            ),
            4,
            "<set-backend-service> appears more than once in <inbound> (first on line 3)",
        ),
    ],
)
def test_structural_errors_name_the_line(text, line, message):
    error = error_of(text)
    assert error.line == line
    assert message in error.message
    assert str(error).startswith(f"Line {line}: ")


def test_certificate_reference_needs_exactly_one_field():
    with pytest.raises(PolicyError):
        CertificateReference()
    with pytest.raises(PolicyError):
        CertificateReference(certificate_id="c1", thumbprint=THUMBPRINT)


def test_policy_error_without_a_line():
    assert str(PolicyError("Something is wrong.")) == "Something is wrong."
    assert isinstance(PolicyError("x", 3), ValueError)

import pytest

from apis.policy import (
    DEFAULT_POLICY,
    BasicCredentials,
    CertificateReference,
    Policy,
    PolicyError,
    parse,
)
from apis.policy_editing import set_gateway_credentials

THUMBPRINT = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"


def policy_with_inbound(*lines: str) -> str:
    inbound = "".join(f"        {line}\n" for line in lines)
    return f"<policies>\n    <inbound>\n{inbound}    </inbound>\n</policies>"


def test_the_cap_applies_to_the_edited_document():
    with pytest.raises(PolicyError, match="larger than the limit"):
        set_gateway_credentials(
            DEFAULT_POLICY, certificate_id="c1", max_bytes=len(DEFAULT_POLICY) + 10
        )


def test_set_a_certificate_on_the_default_policy():
    text = set_gateway_credentials(DEFAULT_POLICY, certificate_id="my-cert")
    assert text == DEFAULT_POLICY.replace(
        "        <base />\n    </inbound>",
        '        <base />\n        <authentication-certificate certificate-id="my-cert" />\n'
        "    </inbound>",
    )
    assert parse(text).certificate == CertificateReference(certificate_id="my-cert")


def test_basic_round_trips_awkward_values():
    basic = BasicCredentials("svc user", "p\"a's<s>&w\n\tr\rd é")
    text = set_gateway_credentials(DEFAULT_POLICY, basic=basic)
    assert parse(text).basic == basic
    assert parse(text).basic.password == basic.password
    assert len(text.splitlines()) == len(DEFAULT_POLICY.splitlines()) + 1


def test_basic_refuses_characters_xml_cannot_hold():
    with pytest.raises(PolicyError, match="control characters"):
        BasicCredentials("svc", "a\x00b")


def test_switching_certificate_then_none_then_basic():
    with_certificate = set_gateway_credentials(DEFAULT_POLICY, certificate_id="c1")
    without = set_gateway_credentials(with_certificate)
    assert without == DEFAULT_POLICY
    assert parse(without) == Policy()
    with_basic = set_gateway_credentials(without, basic=BasicCredentials("u", "p"))
    assert parse(with_basic) == Policy(basic=BasicCredentials("u", "p"))
    back = set_gateway_credentials(with_basic, certificate_id="c2")
    assert back == with_certificate.replace('"c1"', '"c2"')


def test_it_replaces_a_thumbprint_reference():
    text = policy_with_inbound(
        "<base />", f'<authentication-certificate thumbprint="{THUMBPRINT}" />'
    )
    assert set_gateway_credentials(text, certificate_id="c1") == policy_with_inbound(
        "<base />", '<authentication-certificate certificate-id="c1" />'
    )


def test_it_keeps_comments_unknown_policies_and_layout():
    text = """<?xml version="1.0" encoding="utf-8"?>
<!-- Owned by the payments team -->
<policies>
  <inbound>
    <!-- keep calm -->
    <rate-limit calls='20' renewal-period="90"/>
    <authentication-basic username="old" password="old &amp; gone"/>
    <base/>
    <set-header name="X-Trace" exists-action="override"><value>@(1)</value></set-header>
  </inbound>
  <backend><forward-request timeout="30" /></backend>
  <outbound>
    <base/>
    <!-- <authentication-certificate certificate-id="in-a-comment" /> -->
  </outbound>
</policies>
"""
    edited = set_gateway_credentials(text, certificate_id="new.cert_1")
    assert edited == text.replace(
        '    <authentication-basic username="old" password="old &amp; gone"/>\n', ""
    ).replace(
        "    <base/>\n    <set-header",
        '    <base/>\n    <authentication-certificate certificate-id="new.cert_1" />\n'
        "    <set-header",
    )
    assert parse(edited).certificate.certificate_id == "new.cert_1"
    assert set_gateway_credentials(edited) == text.replace(
        '    <authentication-basic username="old" password="old &amp; gone"/>\n', ""
    )


def test_it_inserts_first_when_there_is_no_base():
    text = "<policies>\n\t<inbound>\n\t\t<cors />\n\t</inbound>\n</policies>"
    assert set_gateway_credentials(text, certificate_id="c1") == (
        '<policies>\n\t<inbound>\n\t\t<authentication-certificate certificate-id="c1" />'
        "\n\t\t<cors />\n\t</inbound>\n</policies>"
    )


def test_it_edits_an_element_sharing_a_line():
    text = (
        "<policies><inbound><base />"
        '<authentication-certificate certificate-id="a" /><cors /></inbound></policies>'
    )
    edited = set_gateway_credentials(text, certificate_id="b")
    assert parse(edited).certificate.certificate_id == "b"
    assert "<inbound><base />" in edited
    assert '<authentication-certificate certificate-id="b" />' in edited
    assert "<cors /></inbound></policies>" in edited
    assert set_gateway_credentials(text) == (
        "<policies><inbound><base /><cors /></inbound></policies>"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "<policies>\n  <inbound />\n</policies>",
            '<policies>\n  <inbound>\n    <authentication-certificate certificate-id="c1" />\n'
            "  </inbound>\n</policies>",
        ),
        (
            "<policies>\n  <inbound>\n  </inbound>\n</policies>",
            '<policies>\n  <inbound>\n    <authentication-certificate certificate-id="c1" />\n'
            "  </inbound>\n</policies>",
        ),
        (
            "<policies>\n  <outbound />\n</policies>",
            "<policies>\n  <inbound>\n    <base />\n"
            '    <authentication-certificate certificate-id="c1" />\n'
            "  </inbound>\n  <outbound />\n</policies>",
        ),
        (
            "<policies/>",
            "<policies>\n    <inbound>\n        <base />\n"
            '        <authentication-certificate certificate-id="c1" />\n'
            "    </inbound>\n</policies>",
        ),
    ],
)
def test_it_creates_what_is_missing(text, expected):
    assert set_gateway_credentials(text, certificate_id="c1") == expected


def test_it_keeps_windows_line_endings():
    text = DEFAULT_POLICY.replace("\n", "\r\n")
    edited = set_gateway_credentials(text, certificate_id="c1")
    assert edited == set_gateway_credentials(DEFAULT_POLICY, certificate_id="c1").replace(
        "\n", "\r\n"
    )
    assert set_gateway_credentials(edited) == text


def test_it_returns_the_document_unchanged_when_there_is_nothing_to_do():
    text = "<policies>\n<!-- hi -->\n  <inbound><base/></inbound>\n</policies>\n"
    assert set_gateway_credentials(text) == text


def test_it_refuses_invalid_input():
    with pytest.raises(PolicyError, match="Line 3: "):
        set_gateway_credentials("<policies>\n<inbound>\n</policies>", certificate_id="c1")
    with pytest.raises(PolicyError, match="is not valid"):
        set_gateway_credentials(DEFAULT_POLICY, certificate_id='x" injected="1')
    with pytest.raises(ValueError, match="not both"):
        set_gateway_credentials(
            DEFAULT_POLICY, certificate_id="c1", basic=BasicCredentials("u", "p")
        )


def test_elements_the_gateway_does_not_enforce_are_refused_on_save(admin_client, api):
    from apis.models import Api

    text = (
        "<policies>\n  <inbound>\n    <base />\n"
        '    <rate-limit calls="20" renewal-period="90" />\n'
        '    <set-header name="X-Trace" exists-action="override" />\n'
        "  </inbound>\n  <outbound><base /></outbound>\n</policies>"
    )
    response = admin_client.post(
        f"/apis/{api.name}/policy/", {"policy": text, "version": api.version}
    )
    page = response.content.decode()
    assert "does not enforce &lt;rate-limit&gt; (line 4), &lt;set-header&gt; (line 5)" in page
    assert Api.objects.get(pk=api.pk).policy_xml == api.policy_xml


def test_a_stored_element_the_gateway_ignores_is_flagged_on_the_design_tab(admin_client, api):
    from apis.models import Api

    Api.objects.filter(pk=api.pk).update(
        policy_xml="<policies><inbound><base /><cors /></inbound></policies>"
    )
    page = admin_client.get(f"/apis/{api.name}/").content.decode()
    assert "Not enforced by this gateway: &lt;cors&gt; (line 1)" in page

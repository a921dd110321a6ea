"""The API policy document: parse it safely and describe it.

The document mirrors the commercial gateway's policy XML. Parsing goes through defusedxml with DTDs
forbidden, so entity expansion and external references never happen. parse() reads any document
and keeps elements it does not interpret; saving one refuses what the gateway would not enforce
(refuse_unenforced). read_document() also records where each element sits in the text,
so that apis/policy_editing.py can edit the text itself and keep the administrator's comments,
quoting and layout.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

DEFAULT_POLICY = """<policies>
    <inbound>
        <base />
    </inbound>
    <backend>
        <base />
    </backend>
    <outbound>
        <base />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>"""

MAX_BYTES = 64 * 1024
SECTIONS = ("inbound", "backend", "outbound", "on-error")
CERTIFICATE_TAG = "authentication-certificate"
BASIC_TAG = "authentication-basic"
BACKEND_TAG = "set-backend-service"
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,80}")

# Characters XML 1.0 cannot carry, even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Well-formedness is checked by expat first; these only find where a tag ends.
_START_TAG = re.compile(rb"""<[^\s/>]+(?:\s+[^\s=]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
_END_TAG = re.compile(rb"</[^\s>]+\s*>")


class PolicyError(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self):
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class CertificateReference:
    certificate_id: str | None = None
    thumbprint: str | None = None

    def __post_init__(self):
        if (self.certificate_id is None) == (self.thumbprint is None):
            raise PolicyError(
                f"<{CERTIFICATE_TAG}> needs exactly one of certificate-id and thumbprint."
            )
        if self.certificate_id is not None:
            _check_id(self.certificate_id, "certificate-id")
        else:
            object.__setattr__(self, "thumbprint", normalize_thumbprint(self.thumbprint))


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str = field(repr=False)

    def __post_init__(self):
        if not self.username:
            raise PolicyError("The Basic authentication username is empty.")
        if ":" in self.username:
            raise PolicyError("The Basic authentication username cannot contain ':'.")
        for name, value in (("username", self.username), ("password", self.password)):
            if _NOT_XML.search(value):
                raise PolicyError(
                    f"The Basic authentication {name} contains control characters, "
                    "which a policy cannot hold."
                )


@dataclass(frozen=True)
class Policy:
    certificate: CertificateReference | None = None
    basic: BasicCredentials | None = None
    backend_id: str | None = None
    backend_url: str | None = None

    def describe(self) -> list[str]:
        """The inbound processing in words, one sentence per step."""
        authenticates = "Authenticates to the back end with"
        if self.certificate and self.certificate.certificate_id:
            steps = [f"{authenticates} client certificate {self.certificate.certificate_id}"]
        elif self.certificate:
            steps = [
                f"{authenticates} the certificate with thumbprint {self.certificate.thumbprint}"
            ]
        elif self.basic:
            steps = [f"{authenticates} Basic authentication as {self.basic.username}"]
        else:
            steps = ["Sends no gateway credentials to the back end"]
        if self.backend_id:
            steps.append(f"Sends requests to backend {self.backend_id}")
        elif self.backend_url:
            steps.append(f"Sends requests to {self.backend_url}")
        return steps


def normalize_thumbprint(text: str) -> str:
    """Upper-case hex without separators, whatever a certificate dialog or terminal pasted."""
    digits = "".join(
        char
        for char in text
        if not (char.isspace() or char in ":-" or unicodedata.category(char) == "Cf")
    ).upper()
    wrong = re.search(r"[^0-9A-F]", digits)
    if wrong:
        raise PolicyError(
            f"The thumbprint contains {wrong.group()!r}; use only hexadecimal digits (0-9, A-F)."
        )
    if len(digits) != 40:
        raise PolicyError(
            "The thumbprint must be 40 hexadecimal digits (the SHA-1 of the certificate); "
            f"this one has {len(digits)}."
        )
    return digits


def parse(xml_text: str | bytes, *, max_bytes: int = MAX_BYTES) -> Policy:
    return read_document(checked_bytes(xml_text, max_bytes)).policy


@dataclass(eq=False)
class Element:
    """An element of the policy and where it sits in the text's UTF-8 bytes."""

    tag: str
    attributes: dict
    line: int
    parent: "Element | None"
    start: int  # offset of "<" in the UTF-8 bytes
    content_start: int  # just after the start tag
    empty: bool  # written as <tag ... />
    close_start: int | None = None  # offset of "</"
    end: int = 0  # just after the element
    children: list = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """A parsed policy with its element tree; inbound and credential are None when absent."""

    root: Element
    inbound: Element | None
    credential: Element | None
    policy: Policy


class _TreeBuilder:
    """Parser target recording where each element sits, which ElementTree would forget."""

    def __init__(self, data: bytes):
        self.source = data
        self.expat = None
        self.root = None
        self.open = []

    def start(self, tag, attributes):
        offset = self.expat.CurrentByteIndex
        tag_match = _START_TAG.match(self.source, offset)
        parent = self.open[-1] if self.open else None
        element = Element(
            tag=tag,
            attributes=attributes,
            line=self.expat.CurrentLineNumber,
            parent=parent,
            start=offset,
            content_start=tag_match.end(),
            empty=bool(tag_match.group(1)),
        )
        if element.empty:
            element.end = tag_match.end()
        if parent is None:
            self.root = element
        else:
            parent.children.append(element)
        self.open.append(element)

    def end(self, tag):
        element = self.open.pop()
        if not element.empty:
            element.close_start = self.expat.CurrentByteIndex
            element.end = _END_TAG.match(self.source, element.close_start).end()

    def close(self):
        return self.root


def checked_bytes(xml_text: str | bytes, max_bytes: int) -> bytes:
    """The policy as UTF-8 bytes without a BOM; PolicyError when too large, not text or empty."""
    too_large = PolicyError(f"The policy is larger than the limit of {max_bytes:,} bytes.")
    if len(xml_text) > max_bytes:
        raise too_large
    if isinstance(xml_text, bytes):
        try:
            xml_text = xml_text.decode("utf-8")
        except UnicodeDecodeError as error:
            line = xml_text.count(b"\n", 0, error.start) + 1
            raise PolicyError("The policy is not valid UTF-8 text.", line) from None
    text = xml_text.removeprefix("\ufeff")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        raise PolicyError("The policy contains characters that are not valid text.", line) from None
    if len(data) > max_bytes:
        raise too_large
    if not text.strip():
        raise PolicyError("The policy is empty.")
    return data


def read_document(data: bytes) -> Document:
    """Parse and check the bytes from checked_bytes(); PolicyError names the line of a problem."""
    builder = _TreeBuilder(data)
    # encoding="utf-8" overrides any encoding declared in the document: these bytes are UTF-8.
    parser = DefusedXMLParser(
        target=builder,
        encoding="utf-8",
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    builder.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException:
        raise PolicyError(
            "A policy cannot contain a document type declaration (<!DOCTYPE ...>), "
            "entity declarations or external references.",
            builder.expat.CurrentLineNumber,
        ) from None
    except ParseError as error:
        line, column = error.position
        raise PolicyError(_syntax_message(error.code, column, builder.open), line) from None
    return _interpret(root)


def _syntax_message(code: int, column: int, open_elements: list) -> str:
    codes = expat.errors.codes
    innermost = open_elements[-1] if open_elements else None
    if code == codes[expat.errors.XML_ERROR_TAG_MISMATCH] and innermost:
        return (
            f"The closing tag does not match <{innermost.tag}>, "
            f"which was opened on line {innermost.line}."
        )
    if code == codes[expat.errors.XML_ERROR_NO_ELEMENTS] and innermost:
        return (
            f"The policy ends before <{innermost.tag}> (opened on line {innermost.line}) is closed."
        )
    if code == codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]:
        return (
            f"Unknown entity at column {column + 1}. Write & as &amp; and < as &lt;; "
            "only the five predefined entities and character references are allowed."
        )
    return f"The policy is not well-formed XML: {expat.ErrorString(code)} (column {column + 1})."


def _interpret(root: Element) -> Document:
    if root.tag != "policies":
        raise PolicyError(f"The root element must be <policies>, not <{root.tag}>.", root.line)
    sections = {}
    for section in root.children:
        if section.tag not in SECTIONS:
            raise PolicyError(
                f"<{section.tag}> is not a policy section; "
                "use <inbound>, <backend>, <outbound> and <on-error>.",
                section.line,
            )
        if section.tag in sections:
            raise PolicyError(
                f"<{section.tag}> appears more than once "
                f"(first on line {sections[section.tag].line}).",
                section.line,
            )
        sections[section.tag] = section
    inbound = sections.get("inbound")

    credential = backend = None
    for element in _descendants(root):
        if element.tag in (CERTIFICATE_TAG, BASIC_TAG):
            if inbound is None or element.parent is not inbound:
                raise PolicyError(
                    f"<{element.tag}> is only allowed directly inside <inbound>.", element.line
                )
            if credential is not None:
                raise PolicyError(
                    f"<inbound> can hold only one authentication policy; <{credential.tag}> "
                    f"is already on line {credential.line}.",
                    element.line,
                )
            credential = element
        elif element.tag == BACKEND_TAG and inbound is not None and element.parent is inbound:
            if backend is not None:
                raise PolicyError(
                    f"<{BACKEND_TAG}> appears more than once in <inbound> "
                    f"(first on line {backend.line}).",
                    element.line,
                )
            backend = element

    certificate = basic = None
    if credential is not None and credential.tag == CERTIFICATE_TAG:
        certificate = _checked(credential, _certificate)
    elif credential is not None:
        basic = _checked(credential, _basic)
    backend_id, backend_url = _checked(backend, _backend) if backend else (None, None)
    policy = Policy(certificate, basic, backend_id, backend_url)
    return Document(root, inbound, credential, policy)


def _descendants(root: Element):
    pending = list(reversed(root.children))
    while pending:
        element = pending.pop()
        yield element
        pending.extend(reversed(element.children))


def _checked(element: Element, build):
    try:
        return build(element.attributes)
    except PolicyError as error:
        raise PolicyError(error.message, element.line) from None


def _allow(attributes: dict, tag: str, allowed: tuple[str, ...]) -> None:
    for name in attributes:
        if name not in allowed:
            raise PolicyError(
                f"<{tag}> has an unknown attribute {name!r}; it accepts {' and '.join(allowed)}."
            )


def _check_id(value: str, name: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise PolicyError(
            f"The {name} {value!r} is not valid: use 1 to 80 letters, digits, '-', '_' or '.'."
        )
    return value


def _certificate(attributes: dict) -> CertificateReference:
    _allow(attributes, CERTIFICATE_TAG, ("certificate-id", "thumbprint"))
    return CertificateReference(attributes.get("certificate-id"), attributes.get("thumbprint"))


def _basic(attributes: dict) -> BasicCredentials:
    _allow(attributes, BASIC_TAG, ("username", "password"))
    if "username" not in attributes or "password" not in attributes:
        raise PolicyError(f"<{BASIC_TAG}> needs both a username and a password attribute.")
    return BasicCredentials(attributes["username"], attributes["password"])


def _backend(attributes: dict) -> tuple[str | None, str | None]:
    _allow(attributes, BACKEND_TAG, ("backend-id", "base-url"))
    if ("backend-id" in attributes) == ("base-url" in attributes):
        raise PolicyError(f"<{BACKEND_TAG}> needs exactly one of backend-id and base-url.")
    if "backend-id" in attributes:
        return _check_id(attributes["backend-id"], "backend-id"), None
    url = attributes["base-url"]
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise PolicyError(f"The base-url {url!r} is not an absolute http:// or https:// URL.")
    return None, url


# What the gateway acts on: <base /> in any section, and in <inbound> the credentials and the
# backend. Anything else would be saved and silently ignored, so it is refused on save.
_ENFORCED_INBOUND = (CERTIFICATE_TAG, BASIC_TAG, BACKEND_TAG)


def unenforced_elements(xml_text: str | bytes) -> list[Element]:
    """The elements of a policy that this gateway would not enforce, in document order."""
    root = read_document(checked_bytes(xml_text, MAX_BYTES)).root
    return [
        element
        for section in root.children
        for element in section.children
        if element.tag != "base"
        and not (section.tag == "inbound" and element.tag in _ENFORCED_INBOUND)
    ]


def refuse_unenforced(xml_text: str | bytes) -> None:
    """PolicyError naming every element the gateway would ignore, with its line."""
    found = unenforced_elements(xml_text)
    if not found:
        return
    names = ", ".join(f"<{element.tag}> (line {element.line})" for element in found)
    raise PolicyError(
        f"This gateway does not enforce {names}: remove "
        f"{'it' if len(found) == 1 else 'them'} before saving, so that the policy says only "
        "what the gateway does. It enforces <base /> and, in <inbound>, "
        f"<{CERTIFICATE_TAG}>, <{BASIC_TAG}> and <{BACKEND_TAG}>.",
        found[0].line,
    )

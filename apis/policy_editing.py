"""Edit the gateway credentials in a policy document, keeping the rest of the text as it was.

The edit is made on the text, not on a re-serialised tree, so that the administrator's comments,
quoting and layout survive; new lines are indented and ended like their neighbours. The result is
parsed again before it is returned.
"""

from xml.sax.saxutils import escape

from apis.policy import (
    BASIC_TAG,
    CERTIFICATE_TAG,
    MAX_BYTES,
    BasicCredentials,
    CertificateReference,
    Document,
    Element,
    checked_bytes,
    parse,
    read_document,
)


def set_gateway_credentials(
    xml_text: str | bytes,
    *,
    certificate_id: str | None = None,
    basic: BasicCredentials | None = None,
    max_bytes: int = MAX_BYTES,
) -> str:
    """Replace the authentication element in <inbound>, leaving the rest of the text as it was."""
    if certificate_id is not None and basic is not None:
        raise ValueError("Gateway credentials are either a client certificate or Basic, not both.")
    markup = None
    if certificate_id is not None:
        CertificateReference(certificate_id=certificate_id)
        markup = f'<{CERTIFICATE_TAG} certificate-id="{certificate_id}" />'
    elif basic is not None:
        markup = (
            f'<{BASIC_TAG} username="{_quote(basic.username)}" '
            f'password="{_quote(basic.password)}" />'
        )

    data = checked_bytes(xml_text, max_bytes)
    document = read_document(data)
    layout = _Layout(data, document.root)
    edits = []
    if document.credential is not None:
        edits.append(layout.removal(document.credential))
    if markup is not None:
        edits.append(layout.insertion(document, markup.encode()))
    # From the end backwards, so earlier offsets stay valid; at equal starts the removal goes first.
    for start, end, replacement in sorted(edits, reverse=True):
        data = data[:start] + replacement + data[end:]
    result = data.decode("utf-8")
    parse(result, max_bytes=max_bytes)
    return result


def _quote(value: str) -> str:
    # Attribute values lose raw newlines and tabs to whitespace normalisation; references keep them.
    return escape(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


class _Layout:
    """Where to cut and what to insert, so that new lines look like the administrator's."""

    def __init__(self, data: bytes, root: Element):
        self.data = data
        self.newline = b"\r\n" if b"\r\n" in data else b"\n"
        self.unit = next((i for child in root.children if (i := self.indent(child))), b"    ")

    def indent(self, element: Element) -> bytes | None:
        """The whitespace before the element if it starts its line, else None."""
        prefix = self.data[self.data.rfind(b"\n", 0, element.start) + 1 : element.start]
        return None if prefix.strip() else prefix

    def child_indent(self, parent: Element) -> bytes:
        for child in parent.children:
            if (indent := self.indent(child)) is not None:
                return indent
        return (self.indent(parent) or b"") + self.unit

    def removal(self, element: Element) -> tuple[int, int, bytes]:
        """Remove the element, and its whole line when nothing else is on it."""
        data = self.data
        line_start = data.rfind(b"\n", 0, element.start) + 1
        line_end = data.find(b"\n", element.end) + 1 or len(data)
        if (
            not data[line_start : element.start].strip()
            and not data[element.end : line_end].strip()
        ):
            return line_start, line_end, b""
        return element.start, element.end, b""

    def insertion(self, document: Document, markup: bytes) -> tuple[int, int, bytes]:
        """Put the markup right after <base /> in <inbound>, creating <inbound> if needed."""
        inbound = document.inbound
        if inbound is None:
            indent = self.child_indent(document.root)
            inner = self.newline + indent + self.unit
            section = b"<inbound>" + inner + b"<base />" + inner + markup
            section += self.newline + indent + b"</inbound>"
            return self.first_child(document.root, section)
        base = next((child for child in inbound.children if child.tag == "base"), None)
        if base is None:
            return self.first_child(inbound, markup)
        indent = self.indent(base)
        if indent is None:
            indent = self.child_indent(inbound)
        return base.end, base.end, self.newline + indent + markup

    def first_child(self, parent: Element, markup: bytes) -> tuple[int, int, bytes]:
        data, newline = self.data, self.newline
        indent = self.child_indent(parent)
        closing_indent = self.indent(parent) or b""
        if parent.empty:
            opening = data[parent.start : parent.end].removesuffix(b"/>").rstrip() + b">"
            closing = b"</" + parent.tag.encode() + b">"
            replacement = opening + newline + indent + markup + newline + closing_indent + closing
            return parent.start, parent.end, replacement
        if not data[parent.content_start : parent.close_start].strip():
            replacement = newline + indent + markup + newline + closing_indent
            return parent.content_start, parent.close_start, replacement
        return parent.content_start, parent.content_start, newline + indent + markup

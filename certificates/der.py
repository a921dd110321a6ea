"""A small, bounded reader for the DER (and BER) found in certificate files.

It reads enough of PKCS#12, PKCS#8 and X.509 to look at a file before handing it to a parser
that does real cryptographic work. Encodings are checked strictly (lengths, tags, object
identifiers, nesting depth); the BER forms that real PKCS#12 producers emit (indefinite lengths,
constructed OCTET STRINGs) are accepted, because Windows, NSS and Java tools write them.

Reading never recurses deeper than MAX_DEPTH, and the end of each indefinite-length element is
found once and remembered, so a hostile file cannot make the reader do more than linear work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DEPTH = 32

# Identifier octets of the universal types we read (constructed bit included where it applies).
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
UTF8_STRING = 0x0C
SEQUENCE = 0x30
SET = 0x31
BMP_STRING = 0x1E
CONSTRUCTED = 0x20
CONTEXT = 0x80


def context(number: int, *, constructed: bool = True) -> int:
    """The identifier octet of a context-specific tag such as [0] (0xA0 when constructed)."""
    return CONTEXT | (CONSTRUCTED if constructed else 0) | number


class DerError(ValueError):
    """The bytes are not a valid encoding."""


class TruncatedError(DerError):
    """The encoding ends before an element does: the data was cut short."""


@dataclass(eq=False)
class _Source:
    data: bytes
    # Start offset of an indefinite-length element's content -> (content end, element end).
    ends: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Element:
    """One tag-length-value element; content is data[start:end]."""

    source: _Source = field(repr=False)
    offset: int  # where the element's header starts
    tag: int  # first identifier octet (low five bits 0x1F for high tag numbers)
    number: int  # tag number
    start: int
    end: int
    next: int  # offset just after the element
    depth: int

    @property
    def constructed(self) -> bool:
        return bool(self.tag & CONSTRUCTED)

    @property
    def content(self) -> bytes:
        return self.source.data[self.start : self.end]

    @property
    def encoded(self) -> bytes:
        """The whole element, header included."""
        return self.source.data[self.offset : self.next]

    def children(self) -> list[Element]:
        if not self.constructed:
            raise DerError("primitive element has no children")
        items = []
        offset = self.start
        while offset < self.end:
            child = _read(self.source, offset, self.end, self.depth + 1)
            items.append(child)
            offset = child.next
        return items

    def expect(self, tag: int) -> Element:
        if self.tag != tag:
            raise DerError(f"expected tag 0x{tag:02X}, found 0x{self.tag:02X}")
        return self

    def explicit(self) -> Element:
        """The single element wrapped by an EXPLICIT tag."""
        items = self.children()
        if len(items) != 1:
            raise DerError("explicit tag must wrap exactly one element")
        return items[0]

    def integer(self) -> int:
        self.expect(INTEGER)
        content = self.content
        if not content:
            raise DerError("empty INTEGER")
        return int.from_bytes(content, "big", signed=True)

    def oid(self) -> str:
        self.expect(OBJECT_IDENTIFIER)
        return decode_oid(self.content)

    def octets(self) -> bytes:
        """The value of an OCTET STRING, joining the pieces of a constructed (BER) one."""
        if self.tag == OCTET_STRING:
            return self.content
        if self.tag != OCTET_STRING | CONSTRUCTED:
            raise DerError(f"expected OCTET STRING, found 0x{self.tag:02X}")
        return b"".join(child.octets() for child in self.children())


def read(data: bytes, offset: int = 0) -> Element:
    """Read the element that starts at offset. It may be followed by other bytes."""
    source = _Source(bytes(data))
    return _read(source, offset, len(source.data), 0)


def read_all(data: bytes) -> Element:
    """Read one element that must fill data exactly."""
    element = read(data)
    if element.next != len(data):
        raise DerError("data after the end of the element")
    return element


def decode_oid(content: bytes) -> str:
    if not content or len(content) > 128:
        raise DerError("bad OBJECT IDENTIFIER length")
    arcs = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise DerError("non-minimal OBJECT IDENTIFIER arc")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    if not fresh:
        raise DerError("unterminated OBJECT IDENTIFIER arc")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def _read(source: _Source, offset: int, limit: int, depth: int) -> Element:
    if depth > MAX_DEPTH:
        raise DerError("elements nested too deeply")
    data = source.data
    if offset >= limit:
        raise TruncatedError("missing element")
    tag = data[offset]
    if tag == 0:
        raise DerError("unexpected end-of-contents marker")
    position = offset + 1
    number = tag & 0x1F
    if number == 0x1F:
        number = 0
        for count in range(4):
            if position >= limit:
                raise TruncatedError("tag cut short")
            byte = data[position]
            position += 1
            if count == 0 and byte == 0x80:
                raise DerError("non-minimal tag number")
            number = (number << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        else:
            raise DerError("tag number too large")
        if number < 0x1F:
            raise DerError("non-minimal tag number")
    if position >= limit:
        raise TruncatedError("length missing")
    first = data[position]
    position += 1
    if first == 0x80:
        if not tag & CONSTRUCTED:
            raise DerError("indefinite length on a primitive element")
        end, after = _indefinite_end(source, position, limit, depth)
        return Element(source, offset, tag, number, position, end, after, depth)
    if first & 0x80:
        size = first & 0x7F
        if size > 4:
            raise DerError("length too large")  # also rejects the reserved 0xFF
        if position + size > limit:
            raise TruncatedError("length cut short")
        length = int.from_bytes(data[position : position + size], "big")
        position += size
    else:
        length = first
    end = position + length
    if end > limit:
        raise TruncatedError("content cut short")
    return Element(source, offset, tag, number, position, end, end, depth)


def _indefinite_end(source: _Source, start: int, limit: int, depth: int) -> tuple[int, int]:
    known = source.ends.get(start)
    if known is not None:
        return known
    data = source.data
    offset = start
    while True:
        if offset + 2 > limit:
            raise TruncatedError("end-of-contents marker missing")
        if data[offset] == 0 and data[offset + 1] == 0:
            result = (offset, offset + 2)
            break
        offset = _read(source, offset, limit, depth + 1).next
    source.ends[start] = result
    return result

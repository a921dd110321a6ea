import pytest

from certificates import der


def test_it_reads_a_definite_length_sequence():
    element = der.read_all(bytes.fromhex("3006020103040141"))
    assert element.tag == der.SEQUENCE
    version, octets = element.children()
    assert version.integer() == 3
    assert octets.octets() == b"A"
    assert element.encoded == bytes.fromhex("3006020103040141")


def test_it_reads_long_form_lengths():
    content = bytes(300)
    element = der.read_all(b"\x04\x82\x01\x2c" + content)
    assert element.octets() == content


def test_it_reads_indefinite_lengths_and_constructed_octet_strings():
    data = bytes.fromhex("3080" + "2480" + "04024142" + "040143" + "0000" + "020105" + "0000")
    element = der.read_all(data)
    pieces, number = element.children()
    assert pieces.octets() == b"ABC"
    assert number.integer() == 5
    assert element.next == len(data)


def test_it_reports_data_after_the_element():
    assert der.read(bytes.fromhex("020101FF")).next == 3
    with pytest.raises(der.DerError, match="after the end"):
        der.read_all(bytes.fromhex("020101FF"))


def test_it_reports_truncation():
    with pytest.raises(der.TruncatedError):
        der.read(bytes.fromhex("3010020103"))
    with pytest.raises(der.TruncatedError):
        der.read(bytes.fromhex("3080020103"))  # no end-of-contents marker
    with pytest.raises(der.TruncatedError):
        der.read(bytes.fromhex("3082"))


def test_a_child_cannot_run_past_its_parent():
    with pytest.raises(der.DerError):
        der.read_all(bytes.fromhex("3003020501")).children()


def test_it_limits_nesting():
    deep = b"\x30\x80" * (der.MAX_DEPTH + 2) + b"\x00\x00" * (der.MAX_DEPTH + 2)
    with pytest.raises(der.DerError, match="deeply"):
        der.read(deep)


def test_it_accepts_nesting_up_to_the_limit():
    depth = der.MAX_DEPTH
    data = b"\x30\x80" * depth + b"\x00\x00" * depth
    assert der.read_all(data).next == len(data)


def test_it_refuses_bad_lengths():
    with pytest.raises(der.DerError, match="too large"):
        der.read(b"\x04\x85\x01\x00\x00\x00\x00")
    with pytest.raises(der.DerError, match="primitive"):
        der.read(b"\x04\x80\x00\x00")
    with pytest.raises(der.DerError, match="end-of-contents"):
        der.read(b"\x00\x00")


def test_it_reads_high_tag_numbers():
    element = der.read_all(bytes.fromhex("9F2001FF"))
    assert element.number == 32
    assert element.content == b"\xff"
    with pytest.raises(der.DerError, match="non-minimal"):
        der.read(bytes.fromhex("9F0501FF"))


def test_it_decodes_object_identifiers():
    assert der.read_all(bytes.fromhex("06092A864886F70D010701")).oid() == "1.2.840.113549.1.7.1"
    assert der.read_all(bytes.fromhex("0603550403")).oid() == "2.5.4.3"
    with pytest.raises(der.DerError, match="non-minimal"):
        der.decode_oid(bytes.fromhex("2A8001"))
    with pytest.raises(der.DerError, match="unterminated"):
        der.decode_oid(bytes.fromhex("2A86"))
    with pytest.raises(der.DerError):
        der.decode_oid(b"")


def test_it_decodes_integers():
    assert der.read_all(bytes.fromhex("0203010101")).integer() == 0x010101
    assert der.read_all(bytes.fromhex("0201FF")).integer() == -1
    with pytest.raises(der.DerError, match="empty"):
        der.read_all(bytes.fromhex("0200")).integer()


def test_it_checks_tags():
    element = der.read_all(bytes.fromhex("020103"))
    with pytest.raises(der.DerError, match="expected"):
        element.expect(der.SEQUENCE)
    with pytest.raises(der.DerError, match="OCTET STRING"):
        element.octets()
    with pytest.raises(der.DerError, match="no children"):
        element.children()


def test_it_unwraps_explicit_tags():
    assert der.read_all(bytes.fromhex("A003020107")).explicit().integer() == 7
    with pytest.raises(der.DerError, match="exactly one"):
        der.read_all(bytes.fromhex("A006020107020108")).explicit()


def test_it_reads_many_indefinite_elements_in_linear_time():
    # Every level is indefinite; the reader must not rescan the tail for each one.
    depth = 20
    inner = b"".join(bytes.fromhex("020101") for _ in range(20_000))
    data = b"\x30\x80" * depth + inner + b"\x00\x00" * depth
    element = der.read_all(data)
    for _ in range(depth - 1):
        (element,) = element.children()
    assert len(element.children()) == 20_000

"""The client's address behind trusted proxies: only hops written by a trusted proxy count."""

import pytest

from audit.client_address import TrustedProxies, parse_address

NONE = TrustedProxies()
ONE = TrustedProxies.parse("1")
TWO = TrustedProxies.parse("2")
NETWORKS = TrustedProxies.parse("10.0.0.0/8, 192.0.2.7")


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "client"),
    [
        # No proxy trusted: the peer, whatever the header says.
        (NONE, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        (NONE, "203.0.113.5", "", "203.0.113.5"),
        # One proxy: the hop it appended, never what the client wrote before it.
        (ONE, "10.0.0.2", "attacker-chosen, 203.0.113.5", "203.0.113.5"),
        (ONE, "10.0.0.2", "1.1.1.1, 2.2.2.2, 203.0.113.5", "203.0.113.5"),
        (ONE, "10.0.0.2", "", "10.0.0.2"),  # the proxy added nothing: the proxy itself
        (TWO, "10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (TWO, "10.0.0.2", "203.0.113.5", "203.0.113.5"),  # fewer hops: the farthest
        # Networks: skip trusted hops from the right; an untrusted peer is the client.
        (NETWORKS, "10.1.2.3", "6.6.6.6, 203.0.113.5, 192.0.2.7", "203.0.113.5"),
        (NETWORKS, "203.0.113.9", "6.6.6.6", "203.0.113.9"),
        (NETWORKS, "10.1.2.3", "", "10.1.2.3"),
        # A hop that is not an address ends the walk at the last believable one.
        (ONE, "10.0.0.2", "unknown", "10.0.0.2"),
        (NETWORKS, "10.1.2.3", "203.0.113.5, _hidden", "10.1.2.3"),
        # Ports, brackets and IPv4-mapped IPv6 as proxies write them.
        (ONE, "10.0.0.2", "203.0.113.5:4711", "203.0.113.5"),
        (ONE, "10.0.0.2", "[2001:db8::1]:4711", "2001:db8::1"),
        (ONE, "10.0.0.2", "2001:db8::1", "2001:db8::1"),
        (NONE, "::ffff:203.0.113.5", "", "203.0.113.5"),
        (NONE, "", "203.0.113.5", None),
    ],
)
def test_the_client_address(proxies, remote_addr, forwarded_for, client):
    assert proxies.client_address(remote_addr, forwarded_for) == client


def test_parse():
    assert TrustedProxies.parse("") == TrustedProxies()
    assert TrustedProxies.parse("0") == TrustedProxies()
    assert TrustedProxies.parse(" 3 ").count == 3
    assert [str(n) for n in NETWORKS.networks] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert [str(n) for n in TrustedProxies.parse("2001:db8::/32").networks] == ["2001:db8::/32"]


@pytest.mark.parametrize("text", ["-1", "yes", "10.0.0.0/8,lb.internal", "300.1.1.1"])
def test_parse_refuses_other_values(text):
    with pytest.raises(ValueError, match=r"must be a number of proxies or .* is neither"):
        TrustedProxies.parse(text)


def test_parse_address():
    assert parse_address(" 192.0.2.1 ") is not None
    assert parse_address("example.com") is None
    assert parse_address("") is None

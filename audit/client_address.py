"""The client's address behind trusted reverse proxies (Django-free).

Every proxy appends the address of the peer it talked to to ``X-Forwarded-For``, so the header
read from the right, after REMOTE_ADDR, walks back from the portal towards the client. Only the
hops written by trusted proxies can be believed: the client is the first hop, nearest first, that
is not a trusted proxy. Anything further left was written by the client and may be made up.

Trusted proxies are either a count (every request passes through exactly that many) or a list of
addresses and networks. With none (the default) the client is REMOTE_ADDR and the header is
ignored.
"""

import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """An IP address as a proxy writes it (``[v6]:port`` and ``v4:port`` allowed), else None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class TrustedProxies:
    count: int = 0
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "TrustedProxies":
        """``""`` or ``0``: none; a number: that many; else addresses and networks, comma-separated.

        Raises ValueError with a message that completes "PORTAL_TRUSTED_PROXIES ...".
        """
        text = text.strip()
        if not text:
            return cls()
        if text.isdigit():
            return cls(count=int(text))
        networks = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    "must be a number of proxies or a comma-separated list of IP addresses and "
                    f"networks (like 10.0.0.0/8); {item!r} is neither."
                ) from None
        return cls(networks=tuple(networks))

    def _trusts(self, position: int, address: Address) -> bool:
        if self.networks:
            return any(address in network for network in self.networks)
        return position < self.count

    def client_address(self, remote_addr: str, forwarded_for: str = "") -> str | None:
        """The client's address, given REMOTE_ADDR and the X-Forwarded-For header's value.

        When the header has fewer hops than trusted proxies, or a hop is not an address, the
        farthest believable hop is the answer.
        """
        hops = [remote_addr]
        if self.count or self.networks:
            hops += [hop for hop in reversed(forwarded_for.split(",")) if hop.strip()]
        client = None
        for position, hop in enumerate(hops):
            address = parse_address(hop)
            if address is None:
                break
            client = address
            if not self._trusts(position, address):
                break
        return str(client) if client is not None else None

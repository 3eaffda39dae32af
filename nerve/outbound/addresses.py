"""Which network addresses are public, and why each other one is refused.

Nerve calls what the people who write flows configure. Pointed inside the network Nerve runs in
— the cloud metadata service, a database, a router's admin page — such a call would let them
reach what only Nerve's machine can (server-side request forgery). So by default only public
unicast addresses are called; the operator may allow more (`policy.py`).

The ranges are written out with their RFCs rather than taken from `ipaddress`'s `is_global`,
whose answers changed between Python releases.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
_Table = tuple[tuple[IPv4Network, str], ...] | tuple[tuple[IPv6Network, str], ...]

_IPV4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified, “this network” (RFC 1122 §3.2.1.3)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space of carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback (RFC 1122 §3.2.1.3)"),
        ("169.254.0.0/16", "link-local (RFC 3927), where cloud metadata services answer"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "reserved for IETF protocol assignments (RFC 6890)"),
        ("192.0.2.0/24", "reserved for documentation (RFC 5737)"),
        ("192.88.99.0/24", "reserved, formerly the 6to4 relay anycast (RFC 7526)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "reserved for benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "reserved for documentation (RFC 5737)"),
        ("203.0.113.0/24", "reserved for documentation (RFC 5737)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("240.0.0.0/4", "reserved (RFC 1112 §4), with the broadcast address"),
    )
)

_IPV6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "unspecified (RFC 4291 §2.5.2)"),
        ("::1/128", "loopback (RFC 4291 §2.5.3)"),
        ("64:ff9b:1::/48", "reserved for local IPv4/IPv6 translation (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
        # Teredo (2001::/32) is in here: it tunnels to an IPv4 address hidden in the bits.
        ("2001::/23", "reserved for IETF protocol assignments (RFC 2928)"),
        ("2001:db8::/32", "reserved for documentation (RFC 3849)"),
        # Any IPv4 address can be written as 6to4; the prefix is deprecated (RFC 7526).
        ("2002::/16", "6to4 (RFC 3056), which can stand for any IPv4 address"),
        ("3fff::/20", "reserved for documentation (RFC 9637)"),
        ("fc00::/7", "unique local, private (RFC 4193)"),
        ("fe80::/10", "link-local (RFC 4291 §2.5.6)"),
        ("fec0::/10", "site-local, deprecated (RFC 3879)"),
        ("ff00::/8", "multicast (RFC 4291 §2.7)"),
    )
)

# RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is the IPv4 address a.b.c.d on a dual-stack socket.
_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
# RFC 6052 §2.1: 64:ff9b::a.b.c.d reaches a.b.c.d through the network's NAT64 gateway.
_NAT64 = IPv6Network("64:ff9b::/96")
# RFC 4291 §2.4: only 2000::/3 is global unicast; the rest of the space is unassigned.
_GLOBAL_UNICAST = IPv6Network("2000::/3")


def refusal(address: IPAddress) -> str | None:
    """Why `address` must not be called — what kind of address it is — or None for a public
    address. An IPv6 address that stands for an IPv4 one is what that IPv4 address is."""
    if isinstance(address, IPv4Address):
        return _listed(address, _IPV4)
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = refusal(embedded)
        return None if inner is None else f"the IPv6 form of {embedded}, {inner}"
    listed = _listed(address, _IPV6)
    if listed is None and address not in _GLOBAL_UNICAST:
        return "not global unicast (RFC 4291 §2.4)"
    return listed


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address in _IPV4_MAPPED or address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _listed(address: IPAddress, table: _Table) -> str | None:
    for network, reason in table:
        if address in network:
            return reason
    return None

"""Which addresses Nerve calls: public unicast only. Every private, loopback, link-local,
unspecified, multicast, shared and reserved address is refused, in each form that reaches it —
IPv4, IPv4-mapped IPv6, NAT64, 6to4, Teredo."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerve.outbound.addresses import IPAddress, refusal

# Every special block the standard library knows of, so that hypothesis searches near their
# edges too, not only where random integers fall.
_BLOCKS = [
    ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::/8",
        "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "2002::/16", "3fff::/20", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
]  # fmt: skip


def _in_or_around(network: IPv4Network | IPv6Network) -> st.SearchStrategy[IPAddress]:
    first, last = int(network[0]), int(network[-1])
    top = 2**32 - 1 if network.version == 4 else 2**128 - 1
    kind = IPv4Address if network.version == 4 else IPv6Address
    return st.integers(max(0, first - 2), min(top, last + 2)).map(kind)


ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
near_blocks = st.sampled_from(_BLOCKS).flatmap(_in_or_around)


def _mapped(address: IPv4Address) -> IPv6Address:
    return IPv6Address(0xFFFF_0000_0000 | int(address))  # ::ffff:a.b.c.d


def _nat64(address: IPv4Address) -> IPv6Address:
    return IPv6Address((0x0064_FF9B << 96) | int(address))  # 64:ff9b::a.b.c.d


def _6to4(address: IPv4Address) -> IPv6Address:
    return IPv6Address((0x2002 << 112) | (int(address) << 80))  # 2002:AABB:CCDD::


def _teredo(client: IPv4Address) -> IPv6Address:
    server = int(IPv4Address("65.54.227.120"))  # a public Teredo server
    return IPv6Address((0x2001_0000 << 96) | (server << 64) | (int(client) ^ 0xFFFF_FFFF))


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),  # AWS, GCP, Azure, OpenStack metadata
        ("fd00:ec2::254", "unique local"),  # AWS metadata over IPv6
        ("100.100.100.200", "carrier-grade NAT"),  # Alibaba Cloud metadata
        ("192.0.0.192", "IETF protocol assignments"),  # Oracle Cloud metadata
        ("10.0.0.1", "private (RFC 1918)"),
        ("172.16.0.1", "private (RFC 1918)"),
        ("172.31.255.255", "private (RFC 1918)"),
        ("192.168.1.1", "private (RFC 1918)"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("0.0.0.0", "unspecified"),  # reaches this machine on Linux
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", "benchmarking"),
        ("192.0.2.1", "documentation"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "unique local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("100::1", "discard-only"),
        ("::ffff:127.0.0.1", "the IPv6 form of 127.0.0.1, loopback"),
        ("::ffff:169.254.169.254", "the IPv6 form of 169.254.169.254, link-local"),
        ("64:ff9b::10.0.0.1", "the IPv6 form of 10.0.0.1, private"),
        ("2002:7f00:1::", "6to4"),
        ("2002:808:808::", "6to4"),  # even of a public address: 6to4 is deprecated
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "IETF protocol assignments"),  # Teredo
        ("::127.0.0.1", "not global unicast"),  # IPv4-compatible, deprecated
        ("4000::1", "not global unicast"),
    ],
)
def test_addresses_inside_a_network_are_refused_saying_what_they_are(
    address: str, kind: str
) -> None:
    reason = refusal(ip_address(address))
    assert reason is not None and kind in reason


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255",
        "172.32.0.0", "192.167.255.255", "192.169.0.0", "223.255.255.255",
        "2606:4700:4700::1111", "2a00:1450:4001:81b::200e", "2000::", "3ffe:ffff::1",
        "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",  # a public address reached over IPv6
    ],
)  # fmt: skip
def test_public_addresses_are_called(address: str) -> None:
    assert refusal(ip_address(address)) is None


@given(ipv4)
def test_an_ipv4_address_written_as_ipv6_is_what_the_ipv4_address_is(address: IPv4Address) -> None:
    refused = refusal(address) is not None
    assert (refusal(_mapped(address)) is not None) == refused
    assert (refusal(_nat64(address)) is not None) == refused
    # Forms whose prefix is deprecated or tunnels are refused whatever they carry.
    assert refusal(_6to4(address)) is not None
    assert refusal(_teredo(address)) is not None


def _effective(address: IPAddress) -> IPAddress:
    """The IPv4 address a mapped or NAT64 address reaches, else the address itself."""
    if isinstance(address, IPv6Address) and (int(address) >> 32) in (0xFFFF, 0x64_FF9B << 64):
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def _special(address: IPAddress) -> bool:
    """What the standard library knows as not public, in any of its categories."""
    flags = [address.is_private, address.is_loopback, address.is_link_local,
             address.is_multicast, address.is_reserved, address.is_unspecified,
             not address.is_global]  # fmt: skip
    if isinstance(address, IPv6Address):
        flags.append(address.is_site_local)
    return any(flags)


@given(st.one_of(ipv4, ipv6, near_blocks))
def test_nothing_the_standard_library_calls_special_is_called(address: IPAddress) -> None:
    if refusal(address) is None:
        assert not _special(_effective(address)), address


_REFUSED_GLOBAL_UNICAST = [
    IPv6Network(n) for n in ("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20")
]


@given(st.integers(0x2000 << 112, (0x4000 << 112) - 1).map(IPv6Address))  # 2000::/3
def test_global_unicast_ipv6_is_called_outside_the_few_special_blocks(address: IPv6Address) -> None:
    special = any(address in network for network in _REFUSED_GLOBAL_UNICAST)
    assert (refusal(address) is not None) == special

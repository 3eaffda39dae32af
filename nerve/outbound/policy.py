"""The outbound policy: public addresses may be called; others only where the operator allows
them (`NERVE_OUTBOUND_ALLOW`: networks and host names) — a shop's own ERP on a private address.

A host is checked twice: as written, when a flow is validated (an address written as a number,
a localhost name), and as resolved, when the call connects — a name that pointed outside when
the flow was published may point inside by the time of the call (DNS rebinding).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

from nerve.outbound.addresses import IPAddress, refusal

if TYPE_CHECKING:
    from nerve.settings import Settings

ALLOW_SETTING = "NERVE_OUTBOUND_ALLOW"
Resolver = Callable[[str, int], list[IPAddress]]
# RFC 1123 §2.1 host names: letters, digits and hyphens in dot-separated labels.
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# RFC 6761 §6.3: localhost names always mean this machine, whatever a resolver says.
_LOOPBACK_NAMES = (IPv4Address("127.0.0.1"), ip_address("::1"))


class OutboundRefused(Exception):
    """The outbound policy does not allow this call."""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`, in its order (OSError if none)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(ip_address(sockaddr[0]) for *_, sockaddr in found))


def allowed_entry(text: str) -> str:
    """One entry of the allow list in its normal form: a network (`10.20.0.0/16`; an address
    alone is a network of one) or a host name; ValueError otherwise."""
    entry = text.strip().lower().rstrip(".")
    try:
        return str(ip_network(entry, strict=True))
    except ValueError as exc:
        if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
            raise ValueError(f"{text!r} is not a network: {exc}") from None
    if not _HOST_NAME.match(entry):
        raise ValueError(f"{text!r} is neither a network (10.20.0.0/16) nor a host name")
    return entry


@dataclass(frozen=True)
class OutboundPolicy:
    """Public addresses, and what the operator allows besides. The default allows nothing
    private: loopback and the metadata service are never reachable by accident."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    host_names: frozenset[str] = frozenset()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def allowing(cls, entries: Iterable[str], resolver: Resolver = resolve) -> OutboundPolicy:
        networks, names = [], set()
        for entry in map(allowed_entry, entries):
            try:
                networks.append(ip_network(entry))
            except ValueError:
                names.add(entry)
        return cls(tuple(networks), frozenset(names), resolver)

    @classmethod
    def configured(cls, settings: Settings) -> OutboundPolicy:
        return cls.allowing(settings.outbound_allow)

    def check_host(self, host: str) -> None:
        """Check a host as written (no lookup): an address, or a localhost name, that is not
        allowed is refused. Other names are checked when the call resolves them."""
        name = _normal(host)
        if name in self.host_names:
            return
        address = literal_address(name)
        if address is not None:
            self.check_address(address, host)
        elif name == "localhost" or name.endswith(".localhost"):
            for loopback in _LOOPBACK_NAMES:
                self.check_address(loopback, host)

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """What `host` resolves to now, every address allowed, to connect to as they are; a
        host resolving to any refused address is refused (OutboundRefused; OSError when it
        does not resolve)."""
        found = self.resolver(host, port)
        if _normal(host) not in self.host_names:
            for address in found:
                self.check_address(address, host)
        return found

    def check_address(self, address: IPAddress, host: str) -> None:
        reason = refusal(address)
        if reason is None or self._allows(address):
            return
        # Name the address unless the host says it already (IPv6 is written many ways).
        said = _normal(host) == str(address) or (
            isinstance(address, IPv6Address) and literal_address(_normal(host)) == address
        )
        means = f"{host} is" if said else f"{host} is {address},"
        raise OutboundRefused(
            f"{means} {reason}: Nerve calls only public addresses unless {ALLOW_SETTING} "
            "allows more (docs/webhooks.md)"
        )

    def _allows(self, address: IPAddress) -> bool:
        # An allowed IPv4 network allows its IPv4-mapped form too (RFC 4291 §2.5.5.2): the
        # same host, as a dual-stack resolver may answer for it.
        mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
        return any(a in network for network in self.networks for a in (address, mapped) if a)


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, or None for a name. Besides the
    usual forms, resolvers read `127.1`, `0x7f.0.0.1` and `2130706433` as 127.0.0.1 (POSIX
    inet_aton), so these are addresses too."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _normal(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")

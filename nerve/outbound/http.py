"""HTTP under the outbound policy: a pooled httpx client whose connections go only where the
policy allows — the host resolved once, every address checked, and the connection made to the
checked address, never after a second lookup that could answer differently (DNS rebinding).

TLS is unchanged: httpcore hands the URL's host name to the TLS layer, so SNI (RFC 6066 §3) and
certificate verification (RFC 6125) are against the name, not the address connected to.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from nerve.outbound.policy import OutboundPolicy, OutboundRefused

SCHEMES = ("http", "https")


def check_url(policy: OutboundPolicy, url: object) -> httpx.URL:
    """The URL, if it may be called as written: http or https, with a host the policy does
    not refuse (a name is checked again when it is resolved). OutboundRefused otherwise."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused("needs a URL (http or https)")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundRefused(f"is not a valid URL: {exc}") from None
    if parsed.scheme not in SCHEMES:
        written = f", not {parsed.scheme}" if parsed.scheme else ""
        raise OutboundRefused(f"must be an http or https URL{written}")
    if not parsed.raw_host:
        raise OutboundRefused("has no host")
    policy.check_host(parsed.raw_host.decode("ascii"))
    return parsed


def client(
    policy: OutboundPolicy,
    *,
    limits: httpx.Limits,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """A client for calls the policy allows. It follows no redirects (the caller decides what
    a 3xx means; following one would call an address nobody checked at validation) and reads
    no proxy or credentials from the environment: a proxy would resolve the host itself,
    beyond this policy's reach."""
    transport = _CheckedTransport(policy, limits=limits, verify=verify)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False)


class _CheckedNetwork(httpcore.SyncBackend):
    """httpcore's own sockets, opened to addresses the policy checked."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.addresses(host, port)
        except OSError as exc:  # does not resolve (now): worth another try later
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:  # in the resolver's order, as socket.create_connection does
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise OutboundRefused("a Unix socket is not an outbound call")


class _CheckedTransport(httpx.HTTPTransport):
    """httpx's transport with the checked network under its connection pool."""

    def __init__(
        self, policy: OutboundPolicy, *, limits: httpx.Limits, verify: ssl.SSLContext | bool
    ) -> None:
        context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, limits=limits, trust_env=False)
        # HTTPTransport takes no network backend, so its pool is built again, the same way,
        # with ours; tests/integration/outbound prove every connection goes through it.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedNetwork(policy),
        )

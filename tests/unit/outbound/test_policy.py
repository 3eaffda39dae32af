"""The outbound policy: only http(s), only public addresses unless NERVE_OUTBOUND_ALLOW allows
more — checked as written (no lookup) and, for names, as resolved when the call is made."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from nerve.outbound.addresses import IPAddress
from nerve.outbound.http import check_url
from nerve.outbound.policy import OutboundPolicy, OutboundRefused
from nerve.settings import Settings

STRICT = OutboundPolicy()


def _refused(policy: OutboundPolicy, url: str) -> str:
    with pytest.raises(OutboundRefused) as refused:
        check_url(policy, url)
    return str(refused.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://10.0.0.1/erp", "10.0.0.1 is private (RFC 1918)"),
        ("http://127.0.0.1:8080/", "127.0.0.1 is loopback"),
        ("http://[::1]/", "::1 is loopback"),
        ("http://[::ffff:169.254.169.254]/", "the IPv6 form of 169.254.169.254, link-local"),
        ("http://0.0.0.0:8000/", "0.0.0.0 is unspecified"),
        # Resolvers read these as 127.0.0.1 (inet_aton), so they are 127.0.0.1.
        ("http://2130706433/", "2130706433 is 127.0.0.1, loopback"),
        ("http://0x7f.1/", "0x7f.1 is 127.0.0.1, loopback"),
        ("http://127.1/", "127.1 is 127.0.0.1, loopback"),
        # RFC 6761: localhost names are this machine, whatever DNS says.
        ("http://localhost:8025/", "localhost is 127.0.0.1, loopback"),
        ("https://api.LOCALHOST./x", "is 127.0.0.1, loopback"),
        ("file:///etc/passwd", "must be an http or https URL, not file"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "must be an http or https URL, not gopher"),
        ("ftp://shop.example/", "must be an http or https URL, not ftp"),
        ("//shop.example/remind", "must be an http or https URL"),
        ("http:///remind", "has no host"),
        ("", "needs a URL"),
    ],
)
def test_urls_nerve_must_not_call_are_refused_as_written(url: str, reason: str) -> None:
    assert reason in _refused(STRICT, url)


def test_a_refusal_says_how_to_allow_a_private_target() -> None:
    assert "NERVE_OUTBOUND_ALLOW" in _refused(STRICT, "http://10.0.0.1/")


def test_names_are_left_to_the_call_and_public_addresses_pass() -> None:
    for url in ("https://shop.example/remind", "http://8.8.8.8/", "https://[2606:4700::1]/"):
        check_url(STRICT, url)


def test_allowed_networks_and_names_may_be_called() -> None:
    policy = OutboundPolicy.allowing(["10.20.0.0/16", "127.0.0.1/32", "::1", "erp.internal"])
    for url in ("http://10.20.3.4/", "http://127.0.0.1:9/", "http://[::1]/",
                "http://localhost/", "http://ERP.internal./orders", "http://erp.internal/"):  # fmt: skip
        check_url(policy, url)
    check_url(policy, "http://[::ffff:10.20.0.1]/")  # the same host, IPv4-mapped
    assert "10.21.0.1 is private" in _refused(policy, "http://10.21.0.1/")
    assert "127.0.0.2 is loopback" in _refused(policy, "http://127.0.0.2/")


def test_localhost_needs_both_loopback_addresses_or_its_name() -> None:
    """It may resolve to either, so allowing 127.0.0.1 alone does not make it safe to call."""
    assert "localhost is ::1, loopback" in _refused(
        OutboundPolicy.allowing(["127.0.0.1/32"]), "http://localhost/"
    )
    check_url(OutboundPolicy.allowing(["localhost"]), "http://localhost/")


def _resolving(*answers: str) -> OutboundPolicy:
    addresses: list[IPAddress] = [ip_address(a) for a in answers]
    return OutboundPolicy(resolver=lambda host, port: addresses)


def test_a_name_is_refused_if_any_address_it_resolves_to_is_refused() -> None:
    assert _resolving("93.184.215.14").addresses("shop.example", 443) == [
        ip_address("93.184.215.14")
    ]
    with pytest.raises(OutboundRefused, match=r"shop.example is 10.1.2.3, private"):
        _resolving("93.184.215.14", "10.1.2.3").addresses("shop.example", 443)
    with pytest.raises(OutboundRefused, match=r"rebind.example is 169.254.169.254, link-local"):
        _resolving("169.254.169.254").addresses("rebind.example", 80)


def test_an_allowed_name_may_resolve_to_a_private_address() -> None:
    policy = OutboundPolicy.allowing(
        ["erp.internal"], resolver=lambda host, port: [ip_address("10.0.0.5")]
    )
    assert policy.addresses("erp.internal", 80) == [ip_address("10.0.0.5")]
    for other in ("other.internal", "api.erp.internal"):  # the name itself, nothing under it
        with pytest.raises(OutboundRefused):
            policy.addresses(other, 80)


def test_the_setting_reads_a_comma_separated_list_in_normal_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NERVE_OUTBOUND_ALLOW", "10.0.0.0/8, ERP.Internal.,127.0.0.1 fd00::/8")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.outbound_allow == ["10.0.0.0/8", "erp.internal", "127.0.0.1/32", "fd00::/8"]
    policy = OutboundPolicy.configured(settings)
    assert policy.host_names == {"erp.internal"} and len(policy.networks) == 3


def test_nothing_private_is_allowed_by_default() -> None:
    assert Settings(_env_file=None).outbound_allow == []  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "entry", ["10.0.0.1/8", "10.0.0.0/33", "300.1.2.3", "erp_internal", "*.shop"]
)
def test_a_mistyped_allow_entry_stops_the_process_at_start(
    monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    monkeypatch.setenv("NERVE_OUTBOUND_ALLOW", entry)
    with pytest.raises(ValidationError, match="outbound_allow"):
        Settings(_env_file=None)  # type: ignore[call-arg]

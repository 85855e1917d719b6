"""AddressPolicy: what is refused, what is not over-blocked, and the settings."""

from __future__ import annotations

from ipaddress import IPv4Network, ip_address

import pytest

from jobs.errors import BlockedAddress
from jobs.fetch import AddressPolicy
from jobs.fetch.addresses import embedded_ipv4, refusal_reason

REFUSED = [
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
    "127.0.0.1", "127.255.255.254", "169.254.0.1", "169.254.169.254", "172.16.0.1",
    "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.0.1",
    "192.168.255.255", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "::ffff:8.8.8.8", "::127.0.0.1", "::8.8.8.8", "64:ff9b::127.0.0.1", "64:ff9b::a00:1",
    "64:ff9b:1::1", "64:ff9b:1:ffff::8.8.8.8", "100::1", "2001:db8::1", "2001:db8:ffff::1",
    "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001:0:7f00:1:8000:63bf:f7f7:f7f7", "2001:2::1", "fc00::1", "fd12:3456:789a::1", "fe80::1",
    "febf:ffff::1", "fec0::1", "ff02::1", "ff05::1:3", "3fff::1", "4000::1", "5f00::1",
]

PUBLIC = [
    "1.1.1.1", "8.8.8.8", "9.9.9.9", "11.0.0.1", "100.63.255.254", "100.128.0.1",
    "169.253.255.255", "169.255.0.1", "172.15.255.255", "172.32.0.1", "192.0.3.1",
    "192.167.255.255", "192.169.0.1", "198.17.255.255", "198.20.0.1", "203.0.114.1",
    "223.255.255.255", "2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001::200e",
    "64:ff9b::808:808", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses_raise_blocked_address(address: str) -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy().check(ip_address(address), 80)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not_over_blocked(address: str) -> None:
    AddressPolicy().check(ip_address(address), 443)
    assert refusal_reason(ip_address(address)) is None


def test_the_message_names_the_address_and_why() -> None:
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254 \(a link-local address\)"):
        AddressPolicy().check(ip_address("169.254.169.254"), 80)
    with pytest.raises(BlockedAddress, match=r"IPv6 form of 127\.0\.0\.1"):
        AddressPolicy().check(ip_address("::ffff:127.0.0.1"), 80)


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2002:a00:1::", ["10.0.0.1"]),
        # Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
        ("2001:4860:4860::8888", []),
    ],
)
def test_embedded_ipv4_is_extracted_from_every_ipv6_form(address: str, carried: list[str]) -> None:
    assert [str(v4) for v4 in embedded_ipv4(ip_address(address))] == carried  # type: ignore[arg-type]


def test_public_addresses_only_on_allowed_ports() -> None:
    policy = AddressPolicy()
    policy.check(ip_address("8.8.8.8"), 80)
    policy.check(ip_address("8.8.8.8"), 443)
    with pytest.raises(BlockedAddress, match="port 8080"):
        policy.check(ip_address("8.8.8.8"), 8080)
    AddressPolicy(allowed_ports=None).check(ip_address("8.8.8.8"), 8080)


def test_allow_private_cidr_admits_exactly_the_listed_addresses_on_any_port() -> None:
    policy = AddressPolicy.from_setting("127.0.0.2/32", "80,443")
    policy.check(ip_address("127.0.0.2"), 54321)
    for refused in ("127.0.0.1", "127.0.0.3", "10.0.0.1", "::1"):
        with pytest.raises(BlockedAddress):
            policy.check(ip_address(refused), 54321)
    # Other spellings of the admitted address are admitted too, and only it.
    policy.check(ip_address("::ffff:127.0.0.2"), 80)
    with pytest.raises(BlockedAddress):
        policy.check(ip_address("::ffff:127.0.0.1"), 80)
    # Public addresses are still public: the default ports apply.
    policy.check(ip_address("8.8.8.8"), 443)
    with pytest.raises(BlockedAddress):
        policy.check(ip_address("8.8.8.8"), 8080)


def test_allow_private_true_admits_private_ranges_but_not_cloud_metadata() -> None:
    policy = AddressPolicy.from_setting("true", "80,443")
    for admitted in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fd00::1", "169.254.1.1"):
        policy.check(ip_address(admitted), 5000)
    for metadata in ("169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254",
                     "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::"):
        with pytest.raises(BlockedAddress):
            policy.check(ip_address(metadata), 80)
    AddressPolicy(allow_private=["169.254.169.254/32"]).check(ip_address("169.254.169.254"), 80)


@pytest.mark.parametrize("word", ["false", "FALSE", "", "0", "no", " off "])
def test_from_setting_reads_false(word: str) -> None:
    policy = AddressPolicy.from_setting(word, "80,443")
    assert policy.allow_private is False
    with pytest.raises(BlockedAddress):
        policy.check(ip_address("127.0.0.1"), 80)


def test_from_setting_reads_cidr_lists_and_ports() -> None:
    policy = AddressPolicy.from_setting("127.0.0.2/32, 10.1.0.0/16", "80, 443, 8080")
    assert policy.allow_private == (IPv4Network("127.0.0.2/32"), IPv4Network("10.1.0.0/16"))
    assert policy.allowed_ports == frozenset({80, 443, 8080})
    policy.check(ip_address("10.1.200.3"), 9999)
    with pytest.raises(BlockedAddress):
        policy.check(ip_address("10.2.0.1"), 80)
    assert AddressPolicy.from_setting("false", "*").allowed_ports is None


@pytest.mark.parametrize(
    ("private", "ports"),
    [("not-a-network", "80"), ("10.0.0.0/33", "80"), ("false", "http"), ("false", ""), ("false", "0")],
)
def test_from_setting_refuses_typos(private: str, ports: str) -> None:
    with pytest.raises(ValueError):
        AddressPolicy.from_setting(private, ports)

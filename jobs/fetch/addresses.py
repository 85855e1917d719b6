"""Which IP addresses a fetch may contact.

Public unicast addresses are fine on the allowed ports. Everything else
(loopback, private, link-local, CGNAT, multicast, reserved, documentation ...)
is refused unless `allow_private` admits it. IPv6 forms that carry an IPv4
address (mapped, compatible, NAT64, 6to4, Teredo) are judged by that IPv4
address too, so no spelling of 127.0.0.1 gets through.

The ranges are listed here rather than taken from `ipaddress.is_global`,
whose answers changed between Python patch releases.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import TypeVar

from jobs.errors import BlockedAddress

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

DEFAULT_PORTS: frozenset[int] = frozenset({80, 443})

_Network = TypeVar("_Network", IPv4Network, IPv6Network)


def _refused(network: type[_Network], table: tuple[tuple[str, str], ...]) -> tuple[tuple[_Network, str], ...]:
    """The (network, reason) pairs of a table of (CIDR, reason)."""
    return tuple((network(cidr), reason) for cidr, reason in table)


_V4_REFUSED = _refused(
    IPv4Network,
    (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    ),
)

# Checked after the IPv4-carrying forms below, so only what is left lands here.
_V6_REFUSED = _refused(
    IPv6Network,
    (
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:10::/28", "a deprecated ORCHID address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a unique-local address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    ),
)
_V6_GLOBAL_UNICAST = IPv6Network("2000::/3")
_V4_MAPPED = IPv6Network("::ffff:0:0/96")
_V4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")

# Reached only when listed explicitly: `allow_private=True` is for dev boxes,
# and a dev box in a cloud must still not hand out its instance credentials.
_METADATA: frozenset[IPAddress] = frozenset(
    ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

_FALSE_WORDS = frozenset({"", "false", "0", "no", "off", "none"})
_TRUE_WORDS = frozenset({"true", "1", "yes", "on", "all"})


def embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip in _V4_MAPPED or ip in _V4_COMPATIBLE or ip in _NAT64:
        return (IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip in _SIX_TO_FOUR:
        return (IPv4Address((int(ip) >> 80) & 0xFFFFFFFF),)
    if ip in _TEREDO:
        teredo = ip.teredo
        assert teredo is not None
        return teredo
    return ()


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is."""
    if isinstance(ip, IPv4Address):
        for network, reason in _V4_REFUSED:
            if ip in network:
                return reason
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    carried = embedded_ipv4(ip)
    if carried:
        for v4 in carried:
            inner = refusal_reason(v4)
            if inner is not None:
                return f"an IPv6 form of {v4}, {inner}"
        # Mapped and compatible addresses never come from honest DNS; refuse
        # them outright. NAT64, 6to4 and Teredo reach public hosts for real.
        if ip in _V4_MAPPED:
            return "an IPv4-mapped address"
        if ip in _V4_COMPATIBLE:
            return "an IPv4-compatible address"
        return None
    for network6, reason in _V6_REFUSED:
        if ip in network6:
            return reason
    if ip not in _V6_GLOBAL_UNICAST:
        return "a reserved address"
    return None


def _parse_networks(cidrs: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for cidr in cidrs:
        if isinstance(cidr, IPv4Network | IPv6Network):
            networks.append(cidr)
            continue
        text = cidr.strip()
        if text:
            # strict=False: "10.1.2.3/16" plainly means 10.1.0.0/16.
            networks.append(ip_network(text, strict=False))
    return tuple(networks)


class AddressPolicy:
    """Decides which addresses and ports a fetch may contact.

    `allow_private`: False (refuse every non-public address), True (admit them
    all except cloud metadata endpoints) or a list of CIDRs (admit exactly
    those). `allowed_ports` (None = any) restricts public addresses only: an
    admitted private address may use any port, as dev servers do.
    """

    __slots__ = ("_admit_all", "_networks", "allow_private", "allowed_ports")

    def __init__(
        self,
        allow_private: bool | Iterable[str | IPNetwork] = False,
        allowed_ports: Iterable[int] | None = DEFAULT_PORTS,
    ) -> None:
        self._admit_all = allow_private is True
        self._networks: tuple[IPNetwork, ...] = (
            () if isinstance(allow_private, bool) else _parse_networks(allow_private)
        )
        self.allow_private: bool | tuple[IPNetwork, ...] = (
            allow_private if isinstance(allow_private, bool) else self._networks
        )
        self.allowed_ports: frozenset[int] | None = (
            None if allowed_ports is None else frozenset(allowed_ports)
        )

    @classmethod
    def from_setting(cls, allow_private: str, allowed_ports: str) -> AddressPolicy:
        """Parse env-style settings: "false" | "true" | "127.0.0.2/32,10.1.0.0/16"; "80,443" | "*".

        Raises ValueError on anything else, so a typo fails at startup.
        """
        word = allow_private.strip().lower()
        private: bool | list[str]
        if word in _FALSE_WORDS:
            private = False
        elif word in _TRUE_WORDS:
            private = True
        else:
            private = allow_private.replace(";", ",").replace(" ", ",").split(",")
        ports_text = allowed_ports.strip()
        ports: frozenset[int] | None
        if ports_text == "*":
            ports = None
        else:
            ports = frozenset(int(p) for p in ports_text.replace(" ", ",").split(",") if p)
            if not ports or any(not 0 < p < 65536 for p in ports):
                raise ValueError(f"allowed ports must be '*' or a list of ports, not {allowed_ports!r}")
        return cls(allow_private=private, allowed_ports=ports)

    def admits_private(self, ip: IPAddress) -> bool:
        """Whether `allow_private` lets this (non-public) address through."""
        if not self._admit_all and not self._networks:
            return False
        # Judged in every spelling: ::ffff:169.254.169.254 is still the metadata service.
        candidates: tuple[IPAddress, ...] = (ip,)
        if isinstance(ip, IPv6Address):
            candidates += embedded_ipv4(ip)
        if self._admit_all:
            return not any(c in _METADATA for c in candidates)
        return any(c in net for c in candidates for net in self._networks)

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why `ip:port` may not be contacted, or None when it may."""
        reason = refusal_reason(ip)
        if reason is not None:
            return None if self.admits_private(ip) else f"{ip} ({reason})"
        if self._networks and self.admits_private(ip):
            return None  # listed explicitly: any port, like a private address
        if self.allowed_ports is not None and port not in self.allowed_ports:
            return f"{ip} port {port} (allowed ports: {self._ports_text()})"
        return None

    def check(self, ip: IPAddress, port: int) -> None:
        """Raise BlockedAddress unless `ip:port` may be contacted."""
        reason = self.refusal(ip, port)
        if reason is not None:
            raise BlockedAddress(f"refused to contact {reason}")

    def check_port(self, port: int) -> None:
        """Raise BlockedAddress when no address at all could use `port` (hosts before DNS)."""
        if (
            self.allowed_ports is not None
            and port not in self.allowed_ports
            and not self._admit_all
            and not self._networks
        ):
            raise BlockedAddress(
                f"refused to contact port {port} (allowed ports: {self._ports_text()})"
            )

    def _ports_text(self) -> str:
        return ", ".join(str(p) for p in sorted(self.allowed_ports or ()))

    def __repr__(self) -> str:
        return (
            f"AddressPolicy(allow_private={self.allow_private!r}, "
            f"allowed_ports={self.allowed_ports!r})"
        )

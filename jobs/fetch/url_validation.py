"""Submit-time URL validation: parse, normalize, refuse, with no DNS.

Hosts are read the way browsers (WHATWG URL) read them, so every spelling of
an address reaches the same check: percent-decoding, UTS #46 mapping
(full-width digits, ideographic dots), and the WHATWG IPv4 parser that
accepts what inet_aton does ("2130706433", "0x7f.1", "0177.0.0.1", "127.1").
The returned URL spells the host canonically, so the HTTP client later reads
the same host we checked. Anything ambiguous is refused rather than guessed.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import quote, unquote_to_bytes

import idna

from jobs.errors import InvalidURL
from jobs.fetch.addresses import AddressPolicy

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

_LOOPBACK = IPv4Address("127.0.0.1")
_ASCII_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_PORT = re.compile(r"[0-9]{1,5}")
# Characters left as they are in a path / query; the rest is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?"
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~/%:@!$&'()*+,;=?]")

Host = IPv4Address | IPv6Address | str


def validate_url(url: str, policy: AddressPolicy) -> str:
    """Return `url` normalized, or raise InvalidURL / BlockedAddress.

    Only absolute http(s) URLs without credentials; the fragment is dropped
    (it is never sent). Hostnames are not resolved here: the fetcher checks
    every address it connects to.
    """
    if not isinstance(url, str):
        raise InvalidURL("the URL must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    _refuse_invisible(url)

    scheme, colon, rest = url.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        raise InvalidURL(f"not an absolute URL: {_short(url)}")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(f"the {scheme}: scheme is not allowed, only http and https")
    # Browsers read "\" as "/" in http(s) URLs; so do we, so that
    # "http://127.0.0.1\@example.com/" means what a browser thinks it means.
    if len(rest) < 2 or rest[0] not in "/\\" or rest[1] not in "/\\":
        raise InvalidURL(f"the URL has no host: {_short(url)}")
    rest = rest[2:]
    end = len(rest)
    for delimiter in "/\\?#":
        found = rest.find(delimiter)
        if found != -1 and found < end:
            end = found
    authority, tail = rest[:end], rest[end:]

    _userinfo, at, hostport = authority.rpartition("@")
    raw_host, port = _split_port(hostport, scheme)
    host = parse_host(raw_host)

    # The address is judged before the credentials, so "http://a@127.0.0.1/"
    # is reported as the blocked address it targets.
    if isinstance(host, str):
        if host == "localhost" or host.endswith(".localhost"):
            policy.check(_LOOPBACK, port)  # RFC 6761: always loopback
        else:
            policy.check_port(port)
    else:
        policy.check(host, port)
    if at:
        raise InvalidURL("URLs with credentials (user@host) are not allowed")

    normalized = f"{scheme}://{format_host(host)}"
    if port != DEFAULT_PORTS[scheme]:
        normalized += f":{port}"
    normalized += _normalize_tail(tail)
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidURL(f"the URL is longer than {MAX_URL_LENGTH} characters once encoded")
    return normalized


def parse_host(raw: str) -> Host:
    """An IP address for any spelling of one, else the lower-case ASCII hostname."""
    if not raw:
        raise InvalidURL("the URL has no host")
    if raw.startswith("["):
        inner = raw[1:-1]
        if not raw.endswith("]") or not _IPV6_CHARS.fullmatch(inner):
            raise InvalidURL(f"invalid IPv6 host {raw!r}")
        try:
            return IPv6Address(inner)
        except ValueError:
            raise InvalidURL(f"invalid IPv6 host {raw!r}") from None
    host = raw
    if "%" in host:
        try:
            host = unquote_to_bytes(host).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidURL(f"invalid percent-encoding in host {raw!r}") from None
        _refuse_invisible(host)
    host = host.lower() if host.isascii() else _to_ascii(host)

    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # "example.com." and "127.0.0.1." mean the same as without the dot
    if _ends_in_number(labels[-1]):
        return _parse_ipv4(labels, raw)
    if any(not _LABEL.fullmatch(label) for label in labels):
        raise InvalidURL(f"invalid host {raw!r}")
    name = ".".join(labels)
    if len(name) > 253:
        raise InvalidURL("the host name is longer than 253 characters")
    return name


def format_host(host: Host) -> str:
    if isinstance(host, IPv6Address):
        return f"[{host.compressed}]"
    return str(host)


def _to_ascii(host: str) -> str:
    """UTS #46 mapping (what browsers do), then punycode for non-ASCII labels."""
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        return ".".join(
            label if label.isascii() else idna.alabel(label).decode("ascii")
            for label in mapped.split(".")
        )
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidURL(f"invalid international host name {host!r}") from None


def _ends_in_number(last: str) -> bool:
    if last.isascii() and last.isdigit():
        return True
    return _ipv4_number(last) is not None


def _ipv4_number(part: str) -> int | None:
    """A WHATWG IPv4 number: decimal, 0x-hex or 0-octal; None when it is not one."""
    if not part or not part.isascii():
        return None
    radix = 10
    if part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
        if not part:
            return 0
    elif len(part) > 1 and part[0] == "0":
        part, radix = part[1:], 8
    try:
        # int() would also accept "_" separators and surrounding spaces.
        return int(part, radix) if part.isalnum() else None
    except ValueError:
        return None


def _parse_ipv4(labels: list[str], raw: str) -> IPv4Address:
    numbers = [_ipv4_number(label) for label in labels]
    if len(numbers) > 4 or any(n is None for n in numbers):
        raise InvalidURL(f"invalid IPv4 host {raw!r}")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise InvalidURL(f"invalid IPv4 host {raw!r}")
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n << (8 * (3 - i))
    return IPv4Address(address)


def _split_port(hostport: str, scheme: str) -> tuple[str, int]:
    if hostport.startswith("["):
        close = hostport.find("]")
        host, rest = (hostport, "") if close == -1 else (hostport[: close + 1], hostport[close + 1 :])
        if rest and not rest.startswith(":"):
            raise InvalidURL(f"invalid host {hostport!r}")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, DEFAULT_PORTS[scheme]
    if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
        raise InvalidURL(f"invalid port {port_text!r}")
    return host, int(port_text)


def _normalize_tail(tail: str) -> str:
    tail = tail.partition("#")[0]
    path, _, query = tail.partition("?")
    path = path.replace("\\", "/") or "/"
    if _NEEDS_QUOTING.search(path):
        path = quote(path, safe=_PATH_SAFE)
    if _NEEDS_QUOTING.search(query):
        query = quote(query, safe=_QUERY_SAFE)
    return f"{path}?{query}" if query else path


def _refuse_invisible(text: str) -> None:
    if _ASCII_FORBIDDEN.search(text):
        raise InvalidURL("the URL contains spaces or control characters")
    if not text.isascii() and any(
        c.isspace() or not c.isprintable() for c in text if not c.isascii()
    ):
        raise InvalidURL("the URL contains spaces or invisible characters")


def _short(url: str) -> str:
    return repr(url if len(url) <= 80 else url[:77] + "...")

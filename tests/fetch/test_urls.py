"""validate_url at submit time: every spelling refused, nothing public over-blocked."""

from __future__ import annotations

import pytest

from jobs.errors import BlockedAddress, InvalidURL, JobError
from jobs.fetch import AddressPolicy, validate_url

from .cases import BLOCKED, INVALID

PORTS = {"port": 8081, "port6": 8082}


@pytest.mark.parametrize(("template", "error"), BLOCKED + INVALID)
def test_refused_at_submit_time(template: str, error: type[JobError]) -> None:
    with pytest.raises(error):
        validate_url(template.format(**PORTS), AddressPolicy())


def test_the_table_is_big_enough() -> None:
    assert len(BLOCKED) >= 50
    assert len(INVALID) >= 30


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("http://example.com", "http://example.com/"),
        ("HTTPS://EXAMPLE.COM:443/a/B?q=1#frag", "https://example.com/a/B?q=1"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("http://example.com./x", "http://example.com/x"),
        ("https://b\u00fccher.example/caf\u00e9?q=\u00e9", "https://xn--bcher-kva.example/caf%C3%A9?q=%C3%A9"),
        ("https://EXAMPLE.com/a|b", "https://example.com/a%7Cb"),
        ("http://8.8.8.8/", "http://8.8.8.8/"),
        ("http://134744072/", "http://8.8.8.8/"),
        ("http://0x08080808/", "http://8.8.8.8/"),
        ("http://100.63.255.254/", "http://100.63.255.254/"),
        ("https://[2001:4860:4860:0:0:0:0:8888]/", "https://[2001:4860:4860::8888]/"),
        ("http://example.com\\@127.0.0.1/", "http://example.com/@127.0.0.1/"),
        ("http://my_host.example.com/", "http://my_host.example.com/"),
        ("http://example.com/?", "http://example.com/"),
    ],
)
def test_public_urls_are_normalized_not_refused(url: str, normalized: str) -> None:
    policy = AddressPolicy() if ":8443" not in url else AddressPolicy(allowed_ports={443, 8443})
    assert validate_url(url, policy) == normalized


def test_the_normalized_url_spells_the_checked_address() -> None:
    """The client must read the host we checked, not re-parse a trick spelling."""
    policy = AddressPolicy(allow_private=True)
    assert validate_url("http://0x7f.1:8000/", policy) == "http://127.0.0.1:8000/"
    assert validate_url("http://[::ffff:127.0.0.1]/", policy) == "http://[::ffff:7f00:1]/"
    assert validate_url("http://localhost:3000/x", policy) == "http://localhost:3000/x"


def test_allow_private_list_admits_only_its_addresses() -> None:
    policy = AddressPolicy.from_setting("127.0.0.2/32", "80,443")
    assert validate_url("http://127.0.0.2:5000/", policy) == "http://127.0.0.2:5000/"
    assert validate_url("http://0x7f000002:5000/", policy) == "http://127.0.0.2:5000/"
    for refused in ("http://127.0.0.1:5000/", "http://127.0.0.3:5000/", "http://localhost:5000/"):
        with pytest.raises(BlockedAddress):
            validate_url(refused, policy)
    # A host name might resolve to the admitted address: its port is left to connect time.
    assert validate_url("http://dev.test:5000/", policy) == "http://dev.test:5000/"


def test_credentials_are_refused_even_for_a_public_host() -> None:
    with pytest.raises(InvalidURL, match="credentials"):
        validate_url("https://user:secret@example.com/", AddressPolicy())


def test_too_long_once_encoded() -> None:
    with pytest.raises(InvalidURL, match="longer"):
        validate_url("https://example.com/" + "\u00e9" * 400, AddressPolicy())

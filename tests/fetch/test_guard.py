"""The address guard at fetch time: canaries prove refused hosts are never contacted."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from jobs.errors import BlockedAddress, FetchError, InvalidURL, JobError
from jobs.fetch import AddressPolicy, FetchLimits, guarded_client, translate_error
from jobs.fetch.guarded_client import Backend
from tests.support.fake_dns import FakeDNS
from tests.support.listeners import Canary, server_beside_canary
from tests.support.raw_http import HTTPServer, redirect, reply

from .cases import BLOCKED, INVALID
from .conftest import FetcherFactory


@pytest.mark.parametrize(("template", "error"), BLOCKED + INVALID)
async def test_refused_at_fetch_time_and_never_contacted(
    template: str,
    error: type[JobError],
    canary: Canary,
    canary6: Canary,
    make_fetcher: FetcherFactory,
) -> None:
    fetcher = make_fetcher(policy=AddressPolicy())
    with pytest.raises(error):
        await fetcher.fetch(template.format(port=canary.port, port6=canary6.port))
    assert canary.contacted() == 0
    assert canary6.contacted() == 0


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",  # the system resolver
        "http://127.1:{port}/",  # httpx leaves these to getaddrinfo, which reads them as IPs
        "http://0x7f.1:{port}/",
        "http://2130706433:{port}/",
        "http://0:{port}/",
        "http://[::1]:{port6}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://evil.test:{port}/",  # the fake DNS answers 127.0.0.1
    ],
)
async def test_the_connection_guard_refuses_without_url_validation(
    template: str, canary: Canary, canary6: Canary, backend: Backend
) -> None:
    """guarded_client (webhooks ...) skips validate_url: the guard alone must hold."""
    # Real getaddrinfo (which reads "127.1" and "0x7f.1" as addresses), except for evil.test.
    dns = FakeDNS({"evil.test": ["127.0.0.1"]}) if "evil.test" in template else None
    async with guarded_client(AddressPolicy(), FetchLimits(), dns, backend=backend) as client:
        with pytest.raises(BlockedAddress):
            await client.post(template.format(port=canary.port, port6=canary6.port), json={})
    assert canary.contacted() == 0
    assert canary6.contacted() == 0


@pytest.fixture
async def twin() -> AsyncIterator[tuple[HTTPServer, Canary]]:
    """A server on 127.0.0.2 and a canary on 127.0.0.1 with the same port.

    A host name rebound from one to the other keeps its URL, port included.
    """
    async with server_beside_canary("127.0.0.2") as twins:
        yield twins


ONLY_127_0_0_2 = AddressPolicy(allow_private=["127.0.0.2/32"])


async def test_dns_rebinding_cannot_slip_through(
    twin: tuple[HTTPServer, Canary], make_fetcher: FetcherFactory
) -> None:
    """First lookup: the admitted 127.0.0.2. Any later one: the canary's 127.0.0.1."""
    srv, bait = twin
    srv.routes["/"] = reply(body=b"<p>hello</p>", headers=[("Connection", "close")])
    dns = FakeDNS({"rebind.test": lambda n: ["127.0.0.2"] if n == 1 else ["127.0.0.1"]})
    fetcher = make_fetcher(policy=ONLY_127_0_0_2, resolver=dns)

    page = await fetcher.fetch(f"http://rebind.test:{srv.port}/")

    assert page.content == b"<p>hello</p>"
    assert dns.lookups == ["rebind.test"]  # resolved once, by us: httpcore never asked
    assert srv.requests[0].headers["host"] == f"rebind.test:{srv.port}"
    # The server closed the connection, so the next fetch connects again: the
    # new answer is checked and refused.
    with pytest.raises(BlockedAddress, match=r"rebind\.test"):
        await fetcher.fetch(f"http://rebind.test:{srv.port}/")
    assert dns.lookups == ["rebind.test", "rebind.test"]
    assert bait.contacted() == 0
    assert srv.connections == 1


@pytest.mark.parametrize("answers", [["127.0.0.2", "127.0.0.1"], ["127.0.0.1", "127.0.0.2"]])
async def test_one_refused_address_refuses_the_host(
    answers: list[str], twin: tuple[HTTPServer, Canary], make_fetcher: FetcherFactory
) -> None:
    srv, bait = twin
    srv.routes["/"] = reply(body=b"<p>hello</p>")
    fetcher = make_fetcher(policy=ONLY_127_0_0_2, resolver=FakeDNS({"mixed.test": answers}))
    with pytest.raises(BlockedAddress):
        await fetcher.fetch(f"http://mixed.test:{srv.port}/")
    assert srv.connections == 0
    assert bait.contacted() == 0


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://127.0.0.1:{port}/", BlockedAddress),
        ("http://0x7f.1:{port}/admin", BlockedAddress),
        ("//[::ffff:127.0.0.1]:{port}/", BlockedAddress),
        ("http://localhost:{port}/", BlockedAddress),
        ("http://internal.test:{port}/", BlockedAddress),  # passes validation, refused at connect
        ("http://169.254.169.254/latest/meta-data/", BlockedAddress),
        ("file:///etc/passwd", InvalidURL),
        ("gopher://127.0.0.1:{port}/_", InvalidURL),
        ("javascript:alert(1)", InvalidURL),
        ("http://user@[", InvalidURL),
    ],
)
async def test_a_redirect_into_a_refused_range_is_refused_at_the_hop(
    location: str,
    error: type[JobError],
    twin: tuple[HTTPServer, Canary],
    make_fetcher: FetcherFactory,
) -> None:
    srv, bait = twin
    srv.routes["/go"] = redirect(location.format(port=bait.port))
    dns = FakeDNS({"internal.test": ["127.0.0.1"], "site.test": ["127.0.0.2"]})
    fetcher = make_fetcher(policy=ONLY_127_0_0_2, resolver=dns)
    with pytest.raises(error):
        await fetcher.fetch(f"http://site.test:{srv.port}/go")
    assert [r.path for r in srv.requests] == ["/go"]
    assert bait.contacted() == 0


async def test_allow_private_setting_admits_127_0_0_2_but_not_its_neighbours(
    make_fetcher: FetcherFactory,
) -> None:
    srv = await HTTPServer(host="127.0.0.2").start()
    neighbours = [Canary("127.0.0.1"), Canary("127.0.0.3")]
    try:
        srv.routes["/"] = reply(body=b"<p>dev</p>")
        fetcher = make_fetcher(policy=AddressPolicy.from_setting("127.0.0.2/32", "80,443"))
        assert (await fetcher.fetch(srv.url("/"))).content == b"<p>dev</p>"
        for neighbour in neighbours:
            with pytest.raises(BlockedAddress):
                await fetcher.fetch(f"http://{neighbour.host}:{neighbour.port}/")
            assert neighbour.contacted() == 0
    finally:
        for neighbour in neighbours:
            neighbour.close()
        await srv.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for sni.test, made by the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=sni.test", "-addext", "subjectAltName=DNS:sni.test",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    yield cert, key


async def test_tls_keeps_the_host_name_for_sni_and_certificate_checks(
    certificate: tuple[Path, Path], backend: Backend
) -> None:
    """We connect to the checked IP, yet TLS must still speak to (and verify) sni.test."""
    cert, key = certificate
    seen_names: list[str | None] = []
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    def record_name(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        seen_names.append(name)

    server_ctx.sni_callback = record_name  # type: ignore[assignment]

    hosts: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        hosts.extend(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"host:")
        )
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.2", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    dns = FakeDNS({"sni.test": ["127.0.0.2"]})
    try:
        async with guarded_client(
            ONLY_127_0_0_2, FetchLimits(), dns, verify=client_ctx, backend=backend
        ) as client:
            response = await client.get(f"https://sni.test:{port}/")
            assert response.status_code == 200
    finally:
        server.close()
        await server.wait_closed()
    assert seen_names == ["sni.test"]
    assert hosts == [f"sni.test:{port}"]


async def test_tls_connections_are_kept_alive(certificate: tuple[Path, Path], backend: Backend) -> None:
    """Looking at an idle socket before reusing it must not take TLS traffic for a hang-up."""
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    connections = 0
    finished = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        finally:
            finished.set()

    server = await asyncio.start_server(serve, "127.0.0.2", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    dns = FakeDNS({"sni.test": ["127.0.0.2"]})
    try:
        async with guarded_client(
            ONLY_127_0_0_2, FetchLimits(), dns, verify=client_ctx, backend=backend
        ) as client:
            for _ in range(3):
                assert (await client.get(f"https://sni.test:{port}/")).status_code == 200
                await asyncio.sleep(0.05)  # idle a moment, as pooled connections do
        await asyncio.wait_for(finished.wait(), 5)
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 1


@pytest.mark.parametrize(("name", "trusted"), [("sni.test", False), ("other.test", True)])
async def test_tls_refuses_an_untrusted_or_misnamed_certificate(
    name: str, trusted: bool, certificate: tuple[Path, Path], backend: Backend
) -> None:
    """We connect by address: only the certificate check ties the connection to the name."""
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.2", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    verify = ssl.create_default_context(cafile=str(cert)) if trusted else True
    dns = FakeDNS({name: ["127.0.0.2"]})
    try:
        async with guarded_client(ONLY_127_0_0_2, FetchLimits(), dns, verify=verify, backend=backend) as client:
            with pytest.raises((httpx.HTTPError, aiohttp.ClientError)) as info:
                await client.get(f"https://{name}:{port}/")
    finally:
        server.close()
        await server.wait_closed()
    error = translate_error(info.value, name)
    assert isinstance(error, FetchError)
    assert "CERTIFICATE_VERIFY_FAILED" in error.message


async def test_an_unknown_host_is_a_fetch_error(make_fetcher: FetcherFactory) -> None:
    fetcher = make_fetcher(resolver=FakeDNS({}))
    with pytest.raises(FetchError, match="cannot resolve"):
        await fetcher.fetch("http://nowhere.test/")


async def test_proxy_variables_cannot_route_around_the_guard(
    monkeypatch: pytest.MonkeyPatch, server: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """A proxy would connect for us, unguarded: the client must ignore HTTP(S)_PROXY."""
    server.routes["/"] = reply(body=b"<p>direct</p>")
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")
    fetcher = make_fetcher(policy=AddressPolicy(allow_private=["127.0.0.1/32"]))
    assert (await fetcher.fetch(server.url("/"))).content == b"<p>direct</p>"

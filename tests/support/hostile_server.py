"""The hostile-server table: responses built to hurt a scraper, served from one raw server.

The fetcher's tests (tests/fetch/test_hostile.py) and the end-to-end security
tests (tests/security/test_hostile_pages.py) meet the same servers; each adds
the routes only it needs.
"""

from __future__ import annotations

from .bombs import brotli_bomb, gzip_bomb_parts, stacked_bomb, zstd_bomb
from .raw_http import MB, Handler, head, raw, redirect, reply, stream

HTML = b"<!doctype html><html><head><title>Hello</title></head><body><p>Hi there</p></body></html>"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b" " * 2000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 2000

BOMBS = ["/gzip-bomb", "/deflate-bomb", "/raw-deflate-bomb", "/br-bomb", "/zstd-bomb", "/stacked-bomb"]


def hostile_routes() -> dict[str, Handler]:
    """Path -> handler: bombs, endless and lying bodies, trickles, loops, binary files dressed as HTML."""
    page = [("Content-Type", "text/html")]
    r: dict[str, Handler] = {}

    first, unit = gzip_bomb_parts()
    r["/gzip-bomb"] = stream(first, unit, 10 * 1024, [*page, ("Content-Encoding", "gzip")])  # 10 GiB
    z_first, z_unit = gzip_bomb_parts(15)
    r["/deflate-bomb"] = stream(z_first, z_unit, 1024, [*page, ("Content-Encoding", "deflate")])
    d_first, d_unit = gzip_bomb_parts(-15)
    r["/raw-deflate-bomb"] = stream(d_first, d_unit, 1024, [*page, ("Content-Encoding", "deflate")])
    r["/br-bomb"] = stream(brotli_bomb(), b"", 0, [*page, ("Content-Encoding", "br")])  # 1 GiB
    r["/zstd-bomb"] = stream(zstd_bomb(), b"", 0, [*page, ("Content-Encoding", "zstd")])  # 1 GiB
    r["/stacked-bomb"] = stream(stacked_bomb(), b"", 0, [*page, ("Content-Encoding", "gzip, br")])
    r["/unknown-encoding"] = reply(body=b"xx", headers=[("Content-Encoding", "compress")])
    r["/deep-encoding"] = reply(body=b"xx", headers=[("Content-Encoding", "gzip, " * 50 + "br")])

    r["/endless"] = stream(b"<html>", b"<p>more</p>" * 6000, 10**9, page)
    r["/endless-chunked"] = raw(
        head("200 OK", [*page, ("Transfer-Encoding", "chunked")]),
        *([b"10000\r\n" + b"a" * 0x10000 + b"\r\n"] * 1000),
    )
    r["/huge-length"] = raw(head("200 OK", [*page, ("Content-Length", str(10**12))]), b"a" * MB)
    r["/trickle"] = raw(head("200 OK", [*page, ("Content-Length", "1000")]), *[b"a"] * 1000, delay_s=0.5)
    r["/trickle-head"] = raw(*[bytes([c]) for c in head("200 OK", page * 200)], delay_s=0.5)
    r["/lying-length"] = raw(head("200 OK", [*page, ("Content-Length", "1000")]) + b"<p>short")
    r["/early-close"] = raw(head("200 OK", [*page, ("Transfer-Encoding", "chunked")]), b"20\r\n<p>only part of it")
    r["/no-answer"] = raw()
    r["/garbage"] = raw(b"HELLO THERE\r\n\r\n")

    r["/loop-a"] = redirect("/loop-b")
    r["/loop-b"] = redirect("/loop-a")
    r["/self"] = redirect("/self", "301 Moved Permanently")
    for n in range(30):
        r[f"/chain/{n}"] = redirect(f"/chain/{n + 1}")
    r["/chain/30"] = reply(body=HTML)

    r["/pdf-as-html"] = reply(body=PDF)
    r["/png-as-html"] = reply(body=PNG)
    r["/nul-as-text"] = reply(body=b"abc\x00def", content_type="text/plain")
    r["/untyped-pdf"] = reply(body=PDF, content_type=None)
    r["/octet"] = reply(body=b"<html></html>", content_type="application/octet-stream")
    r["/pdf"] = stream(b"%PDF-1.7\n", b"x" * 65536, 10**9, [("Content-Type", "application/pdf")])
    r["/huge-headers"] = raw(head("200 OK", [(f"X-Pad-{i}", "v" * 1000) for i in range(1024)]))  # 1 MiB
    return r

"""JSON, plain text and XML bodies: Markdown only, and never a crash."""

from __future__ import annotations

import json

from jobs.extract.text_caps import MAX_MARKDOWN_CHARS
from tests.extract.pages import extract


def test_json_is_a_fenced_pretty_block() -> None:
    document = extract(b'{"name":"Widget","tags":["a","b"],"price":9.5}', media_type="application/json")
    assert document.markdown == (
        '```json\n{\n  "name": "Widget",\n  "tags": [\n    "a",\n    "b"\n  ],\n  "price": 9.5\n}\n```'
    )
    assert document.title is None
    assert document.metadata == {}
    assert document.links == []
    assert document.product is None


def test_json_media_type_variants() -> None:
    for media_type in ("application/ld+json", "text/json", "application/problem+json; charset=utf-8"):
        assert (extract(b"[1]", media_type=media_type).markdown or "").startswith("```json\n[\n  1\n]")


def test_invalid_json_is_fenced_as_it_is() -> None:
    assert extract(b"{not json", media_type="application/json").markdown == "```json\n{not json\n```"


def test_backticks_inside_json_cannot_close_the_fence() -> None:
    markdown = extract(json.dumps({"code": "```rm -rf```"}).encode(), media_type="application/json").markdown
    assert markdown is not None
    assert markdown.startswith("````json\n")
    assert markdown.endswith("\n````")


def test_big_json_is_bounded() -> None:
    body = json.dumps([{"i": i, "text": "x" * 100} for i in range(20_000)]).encode()
    markdown = extract(body, media_type="application/json").markdown
    assert markdown is not None
    assert len(markdown) <= MAX_MARKDOWN_CHARS
    assert markdown.startswith("```json\n[")
    assert markdown.endswith("\n```")


def test_deeply_nested_json_does_not_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    markdown = extract(body, media_type="application/json").markdown
    assert markdown is not None
    assert markdown.startswith("```json\n[[[")


def test_plain_text_is_its_own_markdown() -> None:
    body = "Line one\nLíne two\x00\n".encode()
    document = extract(body, media_type="text/plain; charset=utf-8")
    assert document.markdown == "Line one\nLíne two"
    assert document.title is None


def test_plain_text_in_a_declared_charset() -> None:
    assert (
        extract("Grüße".encode("cp1252"), media_type="text/plain", charset="windows-1252").markdown == "Grüße"
    )


def test_xml_is_its_text_content() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>Feed title</title>
    <item><title>First &amp; best</title><description><![CDATA[<p>Some html</p>]]></description></item>
    </channel></rss>"""
    markdown = extract(body, media_type="application/rss+xml").markdown
    assert markdown == "Feed title\nFirst & best\n<p>Some html</p>"


def test_xml_entity_expansion_is_not_performed() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
    <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
    <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
    <root><a>before</a>&lol3;<b>after</b></root>"""
    markdown = extract(body, media_type="text/xml").markdown
    assert markdown is not None
    assert "before" in markdown
    assert "after" in markdown
    assert "lollol" not in markdown


def test_broken_xml_still_gives_text() -> None:
    markdown = extract(b"<root><a>one</a><b>two</c></root", media_type="application/xml").markdown
    assert markdown is not None
    assert "one" in markdown


def test_unknown_media_type_is_sniffed() -> None:
    assert extract(b"<!DOCTYPE html><title>T</title>", media_type="").title == "T"
    assert (extract(b'{"a": 1}', media_type="application/octet-stream").markdown or "").startswith("```json")
    assert extract(b"just words", media_type="").markdown == "just words"


def test_an_untyped_body_is_html_only_by_the_fetchers_signatures() -> None:
    """One sniffer for the fetcher and extraction: a stray tag is not enough to parse a body as HTML."""
    assert extract(b"<pre>x</pre>", media_type="").markdown == "<pre>x</pre>"
    assert extract(b"<p>x</p>", media_type="").markdown == "x"


def test_xhtml_is_html() -> None:
    body = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head></html>'
    assert extract(body, media_type="application/xhtml+xml").title == "X"

"""Title, description, language, canonical and links: cheap, always there, absolute."""

from __future__ import annotations

from jobs.extract.text_caps import MAX_LINKS, MAX_TEXT_FIELD_CHARS
from tests.extract.pages import PAGE_URL, extract, fixture


def test_head_fields() -> None:
    document = extract(fixture("article.html"), url="https://blog.example/2026/03/descale?ref=rss")
    assert document.title == "How to Descale an Espresso Machine Without Ruining It — The Daily Grind"
    assert document.description == (
        "A step-by-step guide to descaling your espresso machine safely, and how often to do it."
    )
    assert document.language == "en"
    # The canonical link is relative in the page, absolute in the result.
    assert document.canonical == "https://blog.example/blog/how-to-descale-an-espresso-machine"
    assert document.url == "https://blog.example/2026/03/descale?ref=rss"
    assert document.status == 200


def test_links_are_absolute_deduped_without_fragments_in_document_order() -> None:
    page = """<base href="/base/">
      <a href="/a">1</a> <a href="/a#x">again, fragment</a> <a href="b">relative to base</a>
      <a href="https://other.example/c#frag">3</a> <a href="//cdn.example/d">4</a>
      <a href="#top">same page</a> <a href="javascript:void(0)">js</a> <a href="mailto:x@y.example">mail</a>
      <a href="tel:+1">tel</a> <a href="ftp://files.example/f">ftp</a> <a>none</a> <a href="">empty</a>
      <a href=" /e?q=1 ">spaces</a> <map><area href="/f" alt="area"></map> <a href="/a">dup</a>"""
    assert extract(page, url="https://shop.example/x/y.html").links == [
        "https://shop.example/a",
        "https://shop.example/base/b",
        "https://other.example/c",
        "https://cdn.example/d",
        "https://shop.example/e?q=1",
        "https://shop.example/f",
    ]


def test_links_of_a_fixture_page() -> None:
    links = extract(fixture("product_jsonld.html")).links
    assert links[0] == "http://127.0.0.1:8080/"
    assert "http://127.0.0.1:8080/guides/espresso-basics" in links
    assert not any(link.startswith("mailto:") for link in links)
    assert len(links) == len(set(links))


def test_links_are_capped() -> None:
    page = "".join(f'<a href="/p/{i}">{i}</a>' for i in range(MAX_LINKS + 100))
    links = extract(page).links
    assert len(links) == MAX_LINKS
    assert links[-1] == f"http://127.0.0.1:8080/p/{MAX_LINKS - 1}"


def test_missing_head_fields_are_none() -> None:
    document = extract("<p>Just text</p>")
    assert (document.title, document.description, document.language, document.canonical) == (
        None,
        None,
        None,
        None,
    )


def test_title_whitespace_is_collapsed_and_long_titles_cut() -> None:
    assert extract("<title>\n  A   title\n</title>").title == "A title"
    assert len(extract(f"<title>{'t' * 10_000}</title>").title or "") == MAX_TEXT_FIELD_CHARS


def test_language_from_content_language_meta() -> None:
    assert extract('<meta http-equiv="Content-Language" content="nl">').language == "nl"


def test_page_url_is_the_base_without_base_href() -> None:
    assert extract('<a href="next.html">n</a>').links == ["http://127.0.0.1:8080/shop/next.html"]
    assert PAGE_URL == "http://127.0.0.1:8080/shop/page.html"


def test_an_svg_title_is_not_the_page_title() -> None:
    page = "<html><head></head><body><svg><g><title>Cart icon</title></g></svg><p>x</p></body></html>"
    assert extract(page).title is None
    page = '<head><meta property="og:title" content="From OG"></head><body><svg><title>Icon</title></svg>'
    assert extract(page).title == "From OG"

"""The main content as Markdown: structure kept, boilerplate gone."""

from __future__ import annotations

import pytest

from tests.extract.pages import extract, fixture


def markdown_of(page: str | bytes, url: str = "https://blog.example/post") -> str:
    markdown = extract(page, url=url, formats=frozenset({"markdown"})).markdown
    assert markdown is not None
    return markdown


ARTICLE_BOILERPLATE = [
    "uses cookies",  # cookie banner
    "Got it",
    "Skip to content",  # skip link
    "Coffee, every day",  # masthead
    "Reviews",  # main menu
    "Filed under",  # article footer
    "Share on",  # share bar
    "Great guide, thanks",  # comments
    "Popular posts",  # sidebar
    "Subscribe for weekly",  # newsletter box
    "Privacy policy",  # site footer
    "too much caffeine",
]


def test_article_keeps_its_body() -> None:
    markdown = markdown_of(fixture("article.html"))
    assert markdown.startswith("# How to Descale an Espresso Machine Without Ruining It")
    for expected in [
        # the byline, from the article's own header
        "By [Mara Lindqvist](https://blog.example/authors/mara) · March 2, 2026",
        "Limescale is the **number one killer** of home espresso machines.",
        "*flat*",
        "## How often should you descale?",
        "| Medium (7\u201314 °dH)  | 3 months      |",
        "- A citric-acid descaler (never vinegar: it attacks seals)",
        "2. Run half the solution through the group head, half through the steam wand.",
        "> Never descale a dual-boiler machine with the steam boiler hot.",
        "[Wikipedia article on limescale](https://en.wikipedia.org/wiki/Limescale)",
        "[guide to water for espresso](https://blog.example/blog/water-for-espresso#hardness)",
        "descaler_grams = litres * 30",
    ]:
        assert expected in markdown


@pytest.mark.parametrize("boilerplate", ARTICLE_BOILERPLATE)
def test_article_boilerplate_is_gone(boilerplate: str) -> None:
    assert boilerplate not in markdown_of(fixture("article.html"))


@pytest.mark.parametrize(
    ("name", "body", "boilerplate"),
    [
        (
            "product_jsonld.html",
            [
                "# Aurora X1 Espresso Machine",
                "*two independent boilers*",
                "| Pump          | Rotary, 9 bar |",
            ],
            ["Accept all cookies", "Grinders", "You may also like", "Returns", "Add to cart"],
        ),
        (
            "product_jsonld_graph.html",
            ["# Trekkingrucksack Alpspitz 45", "- Regenhülle im Deckelfach"],
            ["Zum Inhalt springen", "Zelte", "Ähnliche Produkte", "10 % Rabatt", "Impressum", "Startseite"],
        ),
        (
            "product_microdata.html",
            ["# Lumen 2 Headlamp", "up to *six hours*", "- IPX6 water resistance"],
            ["Free shipping over", "Climbing", "Recommended for you", "Refund policy"],
        ),
        (
            "product_opengraph.html",
            ["# Harbour Wool Beanie", "A chunky *lambswool* beanie"],
            ["Scarves", "Delivery"],
        ),
    ],
)
def test_product_pages(name: str, body: list[str], boilerplate: list[str]) -> None:
    markdown = markdown_of(fixture(name))
    for expected in body:
        assert expected in markdown
    for unexpected in boilerplate:
        assert unexpected not in markdown


def test_relative_links_and_images_become_absolute() -> None:
    markdown = markdown_of('<main><p><a href="/docs">Docs</a> <img src="img/a.png" alt="A"></p></main>')
    assert "[Docs](https://blog.example/docs)" in markdown
    assert "![A](https://blog.example/img/a.png)" in markdown


def test_script_links_keep_only_their_text() -> None:
    markdown = markdown_of(
        '<p><a href=" JavaScript:alert(1)">Click</a> <a href="data:text/html,x">Data</a></p>'
    )
    assert "Click" in markdown
    assert "Data" in markdown
    assert "alert" not in markdown
    assert "data:" not in markdown


def test_hidden_elements_are_not_content() -> None:
    page = """<body><p>Visible.</p><div hidden>Hidden attribute.</div>
      <div style="display: none">Hidden by style.</div><div aria-hidden="true">Hidden from readers.</div>
      <div role="dialog">A dialog.</div><script>var secret = 1;</script><style>p{}</style></body>"""
    assert markdown_of(page) == "Visible."


def test_header_outside_an_article_is_the_masthead() -> None:
    page = "<body><header><h1>Site name</h1></header><div><h1>Post</h1><p>Body text.</p></div></body>"
    assert markdown_of(page) == "# Post\n\nBody text."


def test_a_short_main_element_is_not_trusted() -> None:
    page = "<body><main>Hi</main><div><p>The real content is outside main on this page.</p></div></body>"
    assert "The real content" in markdown_of(page)


def test_page_without_text_has_no_markdown() -> None:
    assert extract("<html><body><nav><a href='/'>Home</a></nav></body></html>").markdown is None
    assert extract(b"").markdown is None


def test_native_converter_agrees_with_the_public_api() -> None:
    """The fast path calls html-to-markdown's native module; its public API is the fallback."""
    from dataclasses import replace

    from html_to_markdown import convert

    from jobs.extract import markdown

    source = fixture("article.html").decode()
    base = "https://blog.example/post"
    public = convert(source, replace(markdown._OPTIONS, base_url=base)).content
    assert markdown._convert(source, base) == public


def test_a_header_inside_main_is_content() -> None:
    page = """<body><header><a href="/">Shop</a></header><main><header><h1>Trail Shoe</h1>
      <p>By Example Co</p></header><p>A light shoe for long runs on rough ground.</p></main></body>"""
    markdown = markdown_of(page)
    assert markdown.startswith("# Trail Shoe")
    assert "Shop" not in markdown


def test_a_header_inside_a_section_of_the_body_is_content() -> None:
    page = """<body><header>Site</header><div><section><header><h2>Part one</h2></header>
      <p>Text of part one.</p></section></div></body>"""
    assert markdown_of(page) == "## Part one\n\nText of part one."


def test_div_layout_without_semantic_tags() -> None:
    markdown = markdown_of(fixture("article_div_layout.html"))
    assert markdown.startswith("# The history of the widget")
    assert "more than two million widgets a year" in markdown
    for boilerplate in ("ACME Widgets", "About us", "Gizmos", "Copyright"):
        assert boilerplate not in markdown


def test_menus_and_footers_marked_by_id_or_class() -> None:
    page = """<body><div id="site-menu"><a href="/">Home</a> <a href="/shop">Shop</a></div>
      <div class="wrap"><h1>Title</h1><p>The body text of this page.</p></div>
      <div class="page-footer">Company address</div></body>"""
    assert markdown_of(page) == "# Title\n\nThe body text of this page."

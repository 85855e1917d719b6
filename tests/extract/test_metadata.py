"""All embedded metadata: JSON-LD, microdata, RDFa, OpenGraph, Twitter cards, <meta>."""

from __future__ import annotations

from tests.extract.pages import extract, fixture


def metadata_of(page: str | bytes) -> dict[str, object]:
    return extract(page, formats=frozenset({"metadata"})).metadata


def test_every_syntax_has_its_key() -> None:
    assert set(metadata_of("<p>nothing here</p>")) == {
        "json-ld",
        "microdata",
        "rdfa",
        "opengraph",
        "twitter",
        "meta",
    }
    assert metadata_of("<p>nothing here</p>")["json-ld"] == []


def test_graph_items_are_lifted_into_the_list() -> None:
    jsonld = metadata_of(fixture("product_jsonld_graph.html"))["json-ld"]
    assert isinstance(jsonld, list)
    types = [item["@type"] for item in jsonld]
    assert types == ["WebPage", "BreadcrumbList", "WebSite", "Organization", "Organization", "Product"]
    # Each lifted item keeps the context of the graph it came from.
    assert all(item["@context"] == "https://schema.org" for item in jsonld)


def test_graph_wrapper_with_its_own_fields_is_kept_beside_its_items() -> None:
    page = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@id": "#page", '
        '"name": "Wrapper", "@graph": [{"@type": "Thing", "name": "Item"}]}</script>'
    )
    jsonld = metadata_of(page)["json-ld"]
    assert jsonld == [
        {"@context": "https://schema.org", "@id": "#page", "name": "Wrapper"},
        {"@context": "https://schema.org", "@type": "Thing", "name": "Item"},
    ]


def test_broken_jsonld_keeps_the_good_blocks() -> None:
    jsonld = metadata_of(fixture("hostile_broken_jsonld.html"))["json-ld"]
    assert isinstance(jsonld, list)
    # Trailing commas and // comments repaired; the cut-off block skipped; entities decoded;
    # the <!-- --> wrapped block with a raw newline in a string read; empty and null skipped.
    assert [item["@type"] for item in jsonld] == ["BreadcrumbList", "WebSite", "Product"]
    assert jsonld[2]["description"] == "Carbon poles.\nFolding, 3 sections."


def test_jsonld_type_attribute_is_matched_loosely() -> None:
    page = (
        '<script type="Application/LD+JSON; charset=utf-8">{"@type": "Thing"}</script>'
        '<script type="application/json">{"@type": "NotLD"}</script>'
    )
    assert metadata_of(page)["json-ld"] == [{"@type": "Thing"}]


def test_opengraph_and_twitter() -> None:
    metadata = metadata_of(fixture("article.html"))
    assert metadata["opengraph"] == {
        "og:type": "article",
        "og:title": "How to Descale an Espresso Machine Without Ruining It",
        "article:published_time": "2026-03-02T08:00:00Z",
        "article:author": "Mara Lindqvist",
        "article:tag": ["espresso", "maintenance"],  # repeated: a list, in page order
    }
    assert metadata["twitter"] == {"twitter:card": "summary", "twitter:creator": "@maralind"}
    meta = metadata["meta"]
    assert isinstance(meta, dict)
    assert meta["author"] == "Mara Lindqvist"
    assert meta["description"].startswith("A step-by-step guide")


def test_twitter_cards_given_with_property() -> None:
    page = '<meta property="twitter:card" content="summary"><meta name="Twitter:Site" content="@x">'
    assert metadata_of(page)["twitter"] == {"twitter:card": "summary", "twitter:site": "@x"}


def test_microdata() -> None:
    microdata = metadata_of(fixture("product_microdata.html"))["microdata"]
    assert isinstance(microdata, list)
    assert [item["type"] for item in microdata] == [
        "https://schema.org/BreadcrumbList",
        "https://schema.org/Product",
    ]
    offers = microdata[1]["properties"]["offers"]["properties"]
    assert offers == {"price": "49.95", "priceCurrency": "USD", "availability": "https://schema.org/InStock"}


def test_rdfa() -> None:
    rdfa = metadata_of(fixture("product_rdfa.html"))["rdfa"]
    assert isinstance(rdfa, list)
    product = next(node for node in rdfa if node.get("@type") == ["https://schema.org/Product"])
    assert product["https://schema.org/name"] == [{"@value": "Bouilloire Inox 1,7 L"}]


def test_opengraph_alone_does_not_start_rdfa() -> None:
    """OpenGraph uses `property=` too; only real RDFa markers start the (slow) RDFa parser."""
    assert metadata_of(fixture("product_opengraph.html"))["rdfa"] == []
    assert metadata_of(fixture("product_jsonld.html"))["microdata"] == []


def test_meta_values_are_capped() -> None:
    from jobs.extract.text_caps import MAX_META_VALUE_CHARS

    page = f'<meta name="keywords" content="{"k" * (MAX_META_VALUE_CHARS * 3)}">'
    meta = metadata_of(page)["meta"]
    assert isinstance(meta, dict)
    assert len(meta["keywords"]) == MAX_META_VALUE_CHARS


def test_description_falls_back_to_opengraph() -> None:
    page = '<meta property="og:description" content="From OG"><meta property="og:title" content="OG title">'
    document = extract(page)
    assert (document.description, document.title) == ("From OG", "OG title")

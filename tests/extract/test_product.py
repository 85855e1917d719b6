"""The normalized product, from each kind of markup a shop may use."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs.extract import Product
from tests.extract.pages import PAGES, expected_products, extract, fixture

PRODUCT_FIXTURES = sorted(path.name for path in PAGES.glob("product_*.html"))


def test_every_product_fixture_has_an_expected_product() -> None:
    assert set(PRODUCT_FIXTURES) <= set(expected_products())


@pytest.mark.parametrize("name", sorted(expected_products()))
def test_fixture_yields_its_expected_product(name: str) -> None:
    """expected_products.json is the contract the end-to-end tests compare against."""
    document = extract(fixture(name), url=f"http://127.0.0.1:54321/{name}")
    assert document.product is not None
    assert document.product.model_dump(mode="json") == expected_products()[name]


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/a.html", "https://elsewhere.example/x/y?z=1"])
def test_expected_products_do_not_depend_on_the_page_url(url: str) -> None:
    for name, expected in expected_products().items():
        document = extract(fixture(name), url=url)
        assert document.product is not None
        assert document.product.model_dump(mode="json") == expected, name


def jsonld_page(*nodes: Any, head: str = "", body: str = "") -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(node)}</script>' for node in nodes)
    return f"<html><head>{scripts}{head}</head><body>{body}</body></html>"


def product_of(page: str, url: str = "https://shop.example/p/1") -> Product:
    product = extract(page, url=url, formats=frozenset({"product"})).product
    assert product is not None
    return product


def test_jsonld_offer() -> None:
    product = product_of(
        jsonld_page(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Kettle",
                "brand": "Brewco",
                "sku": 12345,
                "gtin13": 4006381333931,
                "offers": {"@type": "Offer", "price": 19.99, "priceCurrency": "eur"},
            }
        )
    )
    assert product == Product(
        name="Kettle", brand="Brewco", sku="12345", gtin="4006381333931", price=19.99, currency="EUR"
    )


def test_jsonld_product_inside_a_list_with_type_list() -> None:
    page = jsonld_page(
        [
            {"@type": "Organization", "name": "Shop"},
            {"@type": ["Product", "Thing"], "name": "Lamp", "offers": {"price": "5", "priceCurrency": "USD"}},
        ]
    )
    assert product_of(page).name == "Lamp"
    assert product_of(page).price == 5.0


def test_jsonld_product_inside_graph() -> None:
    page = jsonld_page(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebPage", "name": "Page"},
                {"@type": "Product", "name": "Tent", "offers": [{"@type": "Offer", "price": "199.00"}]},
            ],
        }
    )
    assert product_of(page).name == "Tent"
    assert product_of(page).price == 199.0


def test_jsonld_product_as_main_entity_of_a_webpage() -> None:
    page = jsonld_page(
        {"@type": "ItemPage", "mainEntity": {"@type": "Product", "name": "Nested", "sku": "N-1"}}
    )
    assert product_of(page).sku == "N-1"


def test_the_page_product_comes_before_related_products() -> None:
    page = jsonld_page(
        {
            "@type": "Product",
            "name": "Main",
            "isRelatedTo": [{"@type": "Product", "name": "Related"}],
        }
    )
    assert product_of(page).name == "Main"


def test_aggregate_offer_uses_low_price() -> None:
    page = jsonld_page(
        {
            "@type": "Product",
            "name": "Jacket",
            "offers": {
                "@type": "AggregateOffer",
                "lowPrice": "54.95",
                "highPrice": "79",
                "priceCurrency": "GBP",
            },
        }
    )
    assert (product_of(page).price, product_of(page).currency) == (54.95, "GBP")


def test_list_of_offers_takes_the_first_with_a_price() -> None:
    page = jsonld_page(
        {
            "@type": "Product",
            "offers": [
                {"@type": "Offer", "availability": "https://schema.org/OutOfStock"},
                {"@type": "Offer", "price": "12.50", "priceCurrency": "CHF", "availability": "InStock"},
            ],
        }
    )
    product = product_of(page)
    assert (product.price, product.currency, product.availability) == (12.5, "CHF", "InStock")


def test_price_in_a_price_specification() -> None:
    page = jsonld_page(
        {
            "@type": "Product",
            "offers": {
                "@type": "Offer",
                "priceSpecification": {
                    "@type": "UnitPriceSpecification",
                    "price": 9.5,
                    "priceCurrency": "EUR",
                },
            },
        }
    )
    assert (product_of(page).price, product_of(page).currency) == (9.5, "EUR")


def test_product_group_takes_the_offer_of_its_first_variant() -> None:
    page = jsonld_page(
        {
            "@type": "ProductGroup",
            "name": "T-shirt",
            "brand": {"@type": "Brand", "name": "Basics"},
            "hasVariant": [
                {
                    "@type": "Product",
                    "name": "T-shirt S",
                    "offers": {"price": "15.00", "priceCurrency": "USD"},
                }
            ],
        }
    )
    product = product_of(page)
    assert (product.name, product.brand, product.price) == ("T-shirt", "Basics", 15.0)


def test_references_by_id_are_followed() -> None:
    page = jsonld_page(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "Product", "name": "Pan", "brand": {"@id": "#acme"}, "offers": {"@id": "#offer"}},
                {"@type": "Brand", "@id": "#acme", "name": "Acme"},
                {"@type": "Offer", "@id": "#offer", "price": "30", "priceCurrency": "USD"},
            ],
        }
    )
    product = product_of(page)
    assert (product.brand, product.price) == ("Acme", 30.0)


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ("Acme", "Acme"),
        ({"@type": "Brand", "name": "Acme"}, "Acme"),
        ({"@type": "Organization", "name": "Acme Corp"}, "Acme Corp"),
        ([{"@type": "Brand", "name": "First"}, "Second"], "First"),
        ({"@type": "Brand"}, None),
        ("Ben &amp; Jerry's", "Ben & Jerry's"),
    ],
)
def test_brand_is_always_a_string(brand: Any, expected: str | None) -> None:
    assert product_of(jsonld_page({"@type": "Product", "brand": brand})).brand == expected


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ("https://cdn.example/a.jpg", ["https://cdn.example/a.jpg"]),
        ("/img/a.jpg", ["https://shop.example/img/a.jpg"]),
        ("a.jpg", ["https://shop.example/p/a.jpg"]),
        (
            ["/img/a.jpg", {"@type": "ImageObject", "url": "/img/b.jpg"}, "/img/a.jpg"],
            ["https://shop.example/img/a.jpg", "https://shop.example/img/b.jpg"],
        ),
        ({"@type": "ImageObject", "contentUrl": "//cdn.example/c.jpg"}, ["https://cdn.example/c.jpg"]),
        (["data:image/png;base64,AAAA", "javascript:x"], []),
    ],
)
def test_images_are_absolute_and_deduped(images: Any, expected: list[str]) -> None:
    assert product_of(jsonld_page({"@type": "Product", "image": images})).images == expected


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("gtin13", "4006381333931", "4006381333931"),
        ("gtin12", 12345678905, "012345678905"),  # a JSON number lost its leading zero
        ("gtin14", "1 0614141 00003 3", "10614141000033"),
        ("gtin8", "9638-5074", "96385074"),
        ("gtin", 4006381333931, "4006381333931"),
        ("gtin13", "n/a", None),
    ],
)
def test_gtin_is_a_string_of_digits(key: str, value: Any, expected: str | None) -> None:
    assert product_of(jsonld_page({"@type": "Product", key: value})).gtin == expected


def test_rating_and_review_count() -> None:
    page = jsonld_page(
        {"@type": "Product", "aggregateRating": {"ratingValue": "4,5", "reviewCount": "1,204"}}
    )
    assert (product_of(page).rating, product_of(page).review_count) == (4.5, 1204)
    page = jsonld_page({"@type": "Product", "aggregateRating": {"ratingValue": 3, "ratingCount": 7}})
    assert (product_of(page).rating, product_of(page).review_count) == (3.0, 7)


def test_microdata_product() -> None:
    page = """<div itemscope itemtype="http://schema.org/Product">
      <h1 itemprop="name">Desk Lamp</h1>
      <span itemprop="brand">Lumo</span>
      <img itemprop="image" src="/img/lamp.jpg">
      <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
        <meta itemprop="price" content="39.00"><meta itemprop="priceCurrency" content="EUR">
        <link itemprop="availability" href="http://schema.org/OutOfStock">
      </div></div>"""
    product = product_of(page)
    assert product == Product(
        name="Desk Lamp",
        brand="Lumo",
        price=39.0,
        currency="EUR",
        availability="OutOfStock",
        images=["https://shop.example/img/lamp.jpg"],
    )


def test_microdata_price_from_text() -> None:
    page = """<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Mug</span>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
      <span itemprop="price">1.299,00 €</span></div></div>"""
    assert (product_of(page).price, product_of(page).currency) == (1299.0, "EUR")


def test_rdfa_product() -> None:
    document = extract(fixture("product_rdfa.html"))
    assert document.product is not None
    assert document.product.name == "Bouilloire Inox 1,7 L"
    assert document.product.price == 59.9


def test_opengraph_product() -> None:
    page = """<head><meta property="og:type" content="product"><meta property="og:title" content="Scarf">
      <meta property="og:price:amount" content="25"><meta property="og:price:currency" content="usd">
      <meta property="product:availability" content="oos"><meta property="og:image" content="/s.jpg">
      <meta property="product:brand" content="Knit"></head>"""
    assert product_of(page) == Product(
        name="Scarf",
        brand="Knit",
        price=25.0,
        currency="USD",
        availability="OutOfStock",
        images=["https://shop.example/s.jpg"],
    )


def test_opengraph_without_product_type_or_price_is_not_a_product() -> None:
    page = '<head><meta property="og:type" content="article"><meta property="og:title" content="News"></head>'
    assert extract(page).product is None


def test_a_page_without_product_markup_has_no_product() -> None:
    assert extract(fixture("article.html")).product is None


def test_jsonld_wins_and_opengraph_fills_the_gaps() -> None:
    page = jsonld_page(
        {"@type": "Product", "name": "From JSON-LD", "offers": {"price": "10.00"}},
        head="""<meta property="og:type" content="product"><meta property="og:title" content="From OG">
          <meta property="product:price:amount" content="99">
          <meta property="product:price:currency" content="SEK">
          <meta property="og:image" content="https://shop.example/og.jpg">""",
    )
    product = product_of(page)
    assert (product.name, product.price) == ("From JSON-LD", 10.0)
    assert product.currency == "SEK"
    assert product.images == ["https://shop.example/og.jpg"]


def test_microdata_fills_what_jsonld_lacks() -> None:
    page = jsonld_page(
        {"@type": "Product", "name": "Boots"},
        body="""<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Other</span>
          <span itemprop="sku">B-42</span></div>""",
    )
    product = product_of(page)
    assert (product.name, product.sku) == ("Boots", "B-42")


def test_microdata_wins_over_opengraph() -> None:
    page = """<head><meta property="og:type" content="product"><meta property="og:title" content="OG name">
      <meta property="product:price:amount" content="1"></head><body>
      <div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Microdata name</span>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="2">
      </div></div></body>"""
    product = product_of(page)
    assert (product.name, product.price) == ("Microdata name", 2.0)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("1,299.00", 1299.0),
        ("1.299,00 €", 1299.0),
        ("$19.99", 19.99),
        (19.99, 19.99),
        ("19,99", 19.99),
        ("1 299,50", 1299.5),
        ("CHF 1'299.-", 1299.0),
        ("12.500", 12.5),
        ("0", 0.0),
        ("free", None),
        ("", None),
    ],
)
def test_price_is_a_number(price: Any, expected: float | None) -> None:
    page = jsonld_page({"@type": "Product", "offers": {"@type": "Offer", "price": price}})
    assert product_of(page).price == expected


@pytest.mark.parametrize(
    ("price", "currency", "expected"),
    [
        ("19.99", "usd", "USD"),
        ("19.99", "€", "EUR"),
        ("£19.99", None, "GBP"),
        ("19,99 €", None, "EUR"),
        ("$19.99", None, "USD"),
        ("19.99", None, None),
    ],
)
def test_currency_is_iso_4217(price: str, currency: str | None, expected: str | None) -> None:
    offer = {"@type": "Offer", "price": price, "priceCurrency": currency}
    assert product_of(jsonld_page({"@type": "Product", "offers": offer})).currency == expected


@pytest.mark.parametrize(
    ("availability", "expected"),
    [
        ("https://schema.org/InStock", "InStock"),
        ("http://schema.org/InStock", "InStock"),
        ("InStock", "InStock"),
        ("instock", "InStock"),
        ("in stock", "InStock"),
        ("in_stock", "InStock"),
        ("oos", "OutOfStock"),
        ("out of stock", "OutOfStock"),
        ("https://schema.org/PreOrder", "PreOrder"),
        ("pre-order", "PreOrder"),
        ("http://schema.org/BackOrder", "BackOrder"),
        ("https://schema.org/LimitedAvailability", "LimitedAvailability"),
        ("schema:SoldOut", "SoldOut"),
        ("Discontinued", "Discontinued"),
    ],
)
def test_availability_is_normalized(availability: str, expected: str) -> None:
    offer = {"@type": "Offer", "price": "1", "availability": availability}
    assert product_of(jsonld_page({"@type": "Product", "offers": offer})).availability == expected

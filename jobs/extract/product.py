"""One normalized Product from whichever product markup a page has.

Sources in order of trust: JSON-LD, microdata, RDFa, OpenGraph. The first source
with a product gives every field it has; later ones only fill fields still empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jobs.extract.document import Product
from jobs.extract.link_resolver import URLResolver
from jobs.extract.normalize import (
    parse_availability,
    parse_count,
    parse_currency,
    parse_gtin,
    parse_price,
    parse_rating,
    text_value,
)
from jobs.extract.schema import PRODUCT_TYPES, Node, find_typed, index_by_id
from jobs.extract.text_caps import MAX_IMAGES

_GTIN_KEYS: tuple[tuple[str, int | None], ...] = (
    ("gtin13", 13),
    ("gtin12", 12),
    ("gtin14", 14),
    ("gtin8", 8),
    ("gtin", None),
)

ProductSource = Callable[[], Product | None]
"""A source computed only when an earlier one left a field empty (microdata and RDFa cost)."""


def merge_products(sources: Iterable[ProductSource]) -> Product | None:
    """Fields of the first product found, gaps filled from the later sources."""
    merged: dict[str, Any] | None = None
    for source in sources:
        product = source()
        if product is None:
            continue
        fields = product.model_dump()
        if merged is None:
            merged = fields
        else:
            for key, value in fields.items():
                if merged[key] in (None, []) and value not in (None, []):
                    merged[key] = value
        if all(value not in (None, []) for value in merged.values()):
            break  # complete: the costlier sources would change nothing
    return Product(**merged) if merged is not None else None


def product_from_nodes(items: list[Any], resolver: URLResolver) -> Product | None:
    """The first Product (or ProductGroup ...) node among JSON-LD-shaped `items`, normalized."""
    node = next(find_typed(items, PRODUCT_TYPES), None)
    if node is None:
        return None
    return product_from_node(node, index_by_id(items), resolver)


def product_from_node(node: Node, by_id: dict[str, Node], resolver: URLResolver) -> Product:
    """Normalize one schema.org Product node; `by_id` resolves `{"@id": ...}` references."""

    def follow(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"@id"} and isinstance(value["@id"], str):
            return by_id.get(value["@id"], value)
        return value

    offer = _best_offer(follow(node.get("offers")), follow)
    if offer is None:  # a ProductGroup's offers live on its variants
        for variant in _as_list(follow(node.get("hasVariant")))[:50]:
            variant = follow(variant)
            if isinstance(variant, dict):
                offer = _best_offer(follow(variant.get("offers")), follow)
                if offer is not None:
                    break
    price_value = None
    currency = availability = None
    if offer is not None:
        price_value = _offer_price(offer, follow)
        currency = parse_currency(
            offer.get("priceCurrency") or _spec(offer, follow).get("priceCurrency"), price_value
        )
        availability = parse_availability(offer.get("availability"))
    ratings = (follow(item) for item in _as_list(follow(node.get("aggregateRating")))[:5])
    rating: Node = next((item for item in ratings if isinstance(item, dict)), {})
    return Product(
        name=text_value(node.get("name")),
        brand=_name_of(follow(node.get("brand")), follow),
        sku=text_value(node.get("sku")),
        gtin=next((g for key, size in _GTIN_KEYS if (g := parse_gtin(node.get(key), size))), None),
        price=parse_price(price_value),
        currency=currency,
        availability=availability,
        images=_images(node.get("image"), follow, resolver),
        rating=parse_rating(rating.get("ratingValue")),
        review_count=parse_count(rating.get("reviewCount") or rating.get("ratingCount")),
    )


def product_from_opengraph(og: dict[str, Any], resolver: URLResolver) -> Product | None:
    """A Product from OpenGraph's `og:type=product` and `product:*` tags, if the page has them."""
    kind = (text_value(og.get("og:type")) or "").lower()
    price_value = _first(og, "product:price:amount", "og:price:amount", "product:sale_price:amount")
    if not kind.startswith(("product", "og:product")) and price_value is None:
        return None
    images = og.get("og:image") or og.get("og:image:url") or og.get("og:image:secure_url")
    return Product(
        name=text_value(_first(og, "og:title", "product:title")),
        brand=text_value(_first(og, "product:brand", "og:brand")),
        sku=text_value(_first(og, "product:retailer_item_id", "product:sku")),
        gtin=parse_gtin(_first(og, "product:gtin", "product:ean", "product:upc")),
        price=parse_price(price_value),
        currency=parse_currency(
            _first(og, "product:price:currency", "og:price:currency", "product:sale_price:currency"),
            price_value,
        ),
        availability=parse_availability(_first(og, "product:availability", "og:availability")),
        images=_images(images, lambda value: value, resolver),
    )


def _best_offer(offers: Any, follow: Callable[[Any], Any], depth: int = 0) -> Node | None:
    """The first offer with a price (an Offer, a list of them, or an AggregateOffer)."""
    candidates: list[Node] = [
        offer for offer in (follow(item) for item in _as_list(offers)[:100]) if isinstance(offer, dict)
    ]
    for offer in candidates:
        if _offer_price(offer, follow) is not None:
            return offer
    # An AggregateOffer may list its offers instead of a price range.
    for offer in candidates:
        if "offers" in offer and depth < 3:
            inner = _best_offer(follow(offer.get("offers")), follow, depth + 1)
            if inner is not None:
                return inner
    return candidates[0] if candidates else None


def _offer_price(offer: Node, follow: Callable[[Any], Any]) -> Any:
    """`price`, else an AggregateOffer's `lowPrice`, else a priceSpecification's price."""
    for key in ("price", "lowPrice"):
        value = offer.get(key)
        if value not in (None, "", []):
            return value
    spec = _spec(offer, follow)
    return spec.get("price") or spec.get("minPrice")


def _spec(offer: Node, follow: Callable[[Any], Any]) -> Node:
    specs = [follow(spec) for spec in _as_list(follow(offer.get("priceSpecification")))[:10]]
    return next((spec for spec in specs if isinstance(spec, dict)), {})


def _name_of(value: Any, follow: Callable[[Any], Any]) -> str | None:
    """A brand as a string: a Brand/Organization's name, or the string itself."""
    for item in (follow(item) for item in _as_list(value)[:5]):
        name = text_value(item.get("name")) if isinstance(item, dict) else text_value(item)
        if name:
            return name
    return None


def _images(value: Any, follow: Callable[[Any], Any], resolver: URLResolver) -> list[str]:
    """Absolute image URLs from a string, a list, or ImageObjects; deduped, in order."""
    urls: dict[str, None] = {}
    for item in _as_list(value)[: MAX_IMAGES * 2]:
        item = follow(item)
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl") or item.get("@id")
        if isinstance(item, list):
            item = item[0] if item else None
        if isinstance(item, str):
            url = resolver.resolve(item.strip())
            if url is not None:
                urls.setdefault(url, None)
        if len(urls) >= MAX_IMAGES:
            break
    return list(urls)


def _first(values: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = values.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

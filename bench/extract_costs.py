"""What extraction costs per page, format by format, on a realistic ~55 KB product page.

    .venv/bin/python bench/extract_costs.py [--runs 300] [--page FILE] [--no-quality] [--markdown-only]

Prints the min, median and p99 wall time (ms) of each format alone, of the default
set, and of trafilatura and extruct (every syntax) on the same page for comparison;
then the Markdown step alone on every page its snapshot test pins (the fixture pages,
the crawl bench's generated product pages); then, for the fixture pages, how the main
content found by the Markdown path compares with trafilatura's. No assertions: the
numbers are for people. The min is the number to compare on a shared machine, where
neighbours inflate the median and p99.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs.extract import DEFAULT_FORMATS, decode_html, extract_page

URL = "https://shop.example/p/trail-runner-3"


def product_page(target_bytes: int = 55_000) -> bytes:
    """A product page shaped like a real shop's: mega menu, JSON-LD, OpenGraph,
    gallery, description, spec table, reviews, related products, footer, scripts."""
    nav = "".join(
        f'<li class="menu-item"><a class="menu-link" href="/c/{dept}/{i}">'
        f"{dept.title()} category {i}</a></li>"
        for dept in ("men", "women", "kids", "outdoor", "sale")
        for i in range(24)
    )
    related = "".join(
        f'<li class="product-card"><a href="/p/related-{i}"><img src="/img/related-{i}.jpg" '
        f'alt="Related shoe {i}" loading="lazy" width="240" height="240"></a>'
        f'<a class="card-title" href="/p/related-{i}">Related shoe {i}</a>'
        f'<span class="card-price">${49 + i}.99</span></li>'
        for i in range(16)
    )
    footer = "".join(f'<li><a href="/help/topic-{i}">Help topic {i}</a></li>' for i in range(50))
    script = (
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
        + "".join(f"var tracker{i}={{id:'UA-{i:06d}',events:['view','click','scroll']}};" for i in range(120))
        + "</script>"
    )
    head = f"""<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8">
<title>Trail Runner 3 - Lightweight Running Shoe | Example Shop</title>
<meta name="description" content="The Trail Runner 3 is a lightweight trail shoe with a grippy outsole.">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="canonical" href="{URL}">
<meta property="og:type" content="product"><meta property="og:title" content="Trail Runner 3">
<meta property="og:image" content="https://shop.example/img/tr3-main.jpg">
<meta property="product:price:amount" content="129.00"><meta property="product:price:currency" content="USD">
<meta name="twitter:card" content="summary_large_image"><meta name="twitter:site" content="@exampleshop">
<link rel="stylesheet" href="/static/app.css">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product",
"name":"Trail Runner 3","brand":{{"@type":"Brand","name":"Example"}},"sku":"TR3-BLK-42",
"gtin13":"4006381333931","image":["https://shop.example/img/tr3-main.jpg","https://shop.example/img/tr3-side.jpg"],
"description":"A lightweight trail shoe.",
"aggregateRating":{{"@type":"AggregateRating","ratingValue":"4.6","reviewCount":"212"}},
"offers":{{"@type":"Offer","price":"129.00","priceCurrency":"USD","availability":"https://schema.org/InStock",
"url":"{URL}"}}}}</script>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"BreadcrumbList","itemListElement":[
{{"@type":"ListItem","position":1,"name":"Men","item":"https://shop.example/c/men"}},
{{"@type":"ListItem","position":2,"name":"Running","item":"https://shop.example/c/men/running"}}]}}</script>
{script}</head>"""
    reviews_needed = 6
    body_top = f"""<body class="product-page">
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all</button><button>Settings</button></div>
<header class="site-header"><a class="logo" href="/">Example Shop</a>
<form action="/search"><input name="q" placeholder="Search"></form>
<nav class="mega-menu"><ul>{nav}</ul></nav></header>
<main id="main"><nav class="breadcrumbs"><a href="/">Home</a> / <a href="/c/men">Men</a> /
<a href="/c/men/running">Running</a></nav>
<div class="product"><div class="gallery">
<img src="/img/tr3-main.jpg" alt="Trail Runner 3, black"><img src="/img/tr3-side.jpg" alt="Side view">
</div><div class="summary"><h1>Trail Runner 3</h1><p class="price">$129.00</p>
<p class="stock">In stock, ships in 1-2 days</p><button class="add-to-cart">Add to cart</button></div>
<section class="description"><h2>Description</h2>
<p>The <strong>Trail Runner 3</strong> is our lightest trail shoe yet. A <em>grippy</em> outsole
and a rock plate keep you steady on loose ground, while the breathable mesh upper keeps
your feet cool on long climbs.</p>
<ul><li>Weight: 265 g (size 42)</li><li>Drop: 6 mm</li><li>Lugs: 5 mm</li></ul>
<p>Read our <a href="/guides/trail-shoe-sizing">sizing guide</a> before you order.</p></section>
<section class="specs"><h2>Specifications</h2><table><thead><tr><th>Spec</th><th>Value</th></tr></thead>
<tbody><tr><td>Upper</td><td>Engineered mesh</td></tr><tr><td>Midsole</td><td>EVA foam</td></tr>
<tr><td>Outsole</td><td>Sticky rubber</td></tr><tr><td>Fit</td><td>Regular</td></tr></tbody></table></section>
<section class="reviews"><h2>Reviews</h2>"""
    body_bottom = f"""</section></div>
<aside class="related"><h2>You may also like</h2><ul>{related}</ul></aside></main>
<footer class="site-footer"><ul>{footer}</ul><p>© 2026 Example Shop. All rights reserved.</p></footer>
<script src="/static/app.js" defer></script></body></html>"""
    review = (
        '<article class="review"><h3>Great grip on wet rock</h3><p class="review-meta">by Runner {i} '
        "on 2026-0{m}-1{m}</p><p>I have run {k} km in these so far. The grip on wet rock is "
        "excellent and the fit is true to size. The mesh dries quickly after river crossings. "
        "Would buy again.</p></article>"
    )
    page = head + body_top + body_bottom
    i = 0
    reviews: list[str] = []
    while len(page.encode()) + sum(len(r) for r in reviews) < target_bytes or i < reviews_needed:
        reviews.append(review.format(i=i, m=i % 9 + 1, k=100 + 7 * i))
        i += 1
    return (head + body_top + "".join(reviews) + body_bottom).encode()


def measure(cases: list[tuple[str, Callable[[], object]]], runs: int) -> dict[str, list[float]]:
    """Per-call times in ms. The cases take turns within each round, so a noisy
    neighbour on a shared machine slows them all alike instead of skewing one."""
    for _, call in cases:  # warm-up: imports, caches, lazy singletons
        for _ in range(3):
            call()
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    gc.collect()
    for _ in range(runs):
        for name, call in cases:
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=300)
    options.add_argument("--page", type=Path, help="an HTML file to use instead of the generated page")
    options.add_argument("--no-quality", action="store_true", help="skip the comparison with trafilatura")
    options.add_argument("--markdown-only", action="store_true", help="only the Markdown table, per page")
    args = options.parse_args()
    if args.markdown_only:
        markdown_table(args.runs)
        return
    page = args.page.read_bytes() if args.page else product_page()

    def extract(formats: frozenset[str]) -> Callable[[], object]:
        return lambda: extract_page(
            page, url=URL, status=200, media_type="text/html", charset="utf-8", formats=formats
        )

    cases: list[tuple[str, Callable[[], object]]] = [
        ("basics only (title, description, ...)", extract(frozenset())),
        ("links", extract(frozenset({"links"}))),
        ("product", extract(frozenset({"product"}))),
        ("metadata", extract(frozenset({"metadata"}))),
        ("markdown", extract(frozenset({"markdown"}))),
        ("product + links + markdown", extract(frozenset({"product", "links", "markdown"}))),
        ("default set " + "+".join(sorted(DEFAULT_FORMATS)), extract(DEFAULT_FORMATS)),
    ]
    cases.extend(reference_cases(page))

    times = measure(cases, args.runs)
    print(f"page: {len(page) / 1000:.1f} KB, {args.runs} runs each\n")
    print(f"{'what':<58} {'min ms':>7} {'median ms':>10} {'p99 ms':>8}")
    print("-" * 86)
    for name, _ in cases:
        low, median, p99 = min(times[name]), statistics.median(times[name]), percentile(times[name], 0.99)
        print(f"{name:<58} {low:>7.2f} {median:>10.2f} {p99:>8.2f}")
    print()
    markdown_table(args.runs)
    if not args.no_quality:
        print()
        quality_table()


def reference_cases(page: bytes) -> list[tuple[str, Callable[[], object]]]:
    """The libraries extraction avoids on its hot path, measured on the same page."""
    import extruct
    import trafilatura

    text = page.decode()

    def run_trafilatura() -> object:
        return trafilatura.extract(text, url=URL, output_format="markdown", with_metadata=False)

    def run_extruct() -> object:
        with warnings.catch_warnings():  # the bench reports costs, not library warnings
            warnings.simplefilter("ignore")
            return extruct.extract(text, base_url=URL)

    def run_extruct_fast() -> object:
        return extruct.extract(text, base_url=URL, syntaxes=["json-ld", "opengraph", "microdata"])

    return [
        ("reference: trafilatura markdown", run_trafilatura),
        ("reference: extruct, every syntax", run_extruct),
        ("reference: extruct json-ld + opengraph + microdata", run_extruct_fast),
    ]


FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"
# Pages of the crawl bench's generated shop and the 55 KB shop page above, kept as files
# beside the Markdown snapshots the tests compare against.
GENERATED = Path(__file__).resolve().parent.parent / "tests" / "extract" / "markdown_snapshots" / "pages"


def markdown_table(runs: int) -> None:
    """The Markdown step per page: extract_page with `markdown` alone, less the same call with no format."""
    print(f"markdown alone, per page (min of {runs}; the parse every format pays is left out)\n")
    print(f"{'page':<36} {'KB':>6} {'markdown ms':>12}")
    print("-" * 56)
    paths = sorted(GENERATED.glob("*.html")) + sorted(FIXTURES.glob("*.html"))
    for path in paths:
        content = path.read_bytes()
        charset = "iso-8859-1" if "iso8859" in path.name else None

        def call(
            formats: frozenset[str], content: bytes = content, charset: str | None = charset
        ) -> Callable[[], object]:
            return lambda: extract_page(
                content, url=URL, status=200, media_type="text/html", charset=charset, formats=formats
            )

        times = measure([("markdown", call(frozenset({"markdown"}))), ("none", call(frozenset()))], runs)
        cost = min(times["markdown"]) - min(times["none"])
        print(f"{path.name:<36} {len(content) / 1000:>6.1f} {cost:>12.3f}")
_LINK_TARGETS = re.compile(r"\]\([^)]*\)")
_WORDS = re.compile(r"\w{3,}")


def words(markdown: str | None) -> set[str]:
    """The words of a Markdown text, link targets left out."""
    return set(_WORDS.findall(_LINK_TARGETS.sub("]", markdown or "").lower()))


def quality_table() -> None:
    """Main content: our Markdown against trafilatura's, word for word, on the fixture pages.

    recall: share of trafilatura's words that ours has too. extra: share of our words
    that trafilatura left out (boilerplate we kept, or content it dropped).
    """
    import trafilatura

    print("main content vs trafilatura (fixture pages)\n")
    print(f"{'page':<36} {'recall':>7} {'extra':>6} {'ours ms':>8} {'traf ms':>8}  words only one side has")
    print("-" * 110)
    for path in sorted(FIXTURES.glob("*.html")):
        content = path.read_bytes()
        charset = "iso-8859-1" if "iso8859" in path.name else None
        start = time.perf_counter()
        ours = extract_page(
            content, url=URL, status=200, media_type="text/html", charset=charset,
            formats=frozenset({"markdown"}),
        ).markdown  # fmt: skip
        ours_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        theirs = trafilatura.extract(
            decode_html(content, charset), url=URL, output_format="markdown",
            include_links=True, include_tables=True, include_formatting=True,
        )  # fmt: skip
        theirs_ms = (time.perf_counter() - start) * 1000
        mine, reference = words(ours), words(theirs)
        recall = len(mine & reference) / len(reference) if reference else 1.0
        extra = len(mine - reference) / len(mine) if mine else 0.0
        only = sorted(reference - mine)[:4] + [f"+{word}" for word in sorted(mine - reference)[:4]]
        print(
            f"{path.name:<36} {recall:>7.0%} {extra:>6.0%} {ours_ms:>8.2f} {theirs_ms:>8.2f}  "
            + " ".join(only)
        )


if __name__ == "__main__":
    main()

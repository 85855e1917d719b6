"""A generated shop of N product pages on loopback, for the crawl benches (served by uvicorn).

Every page is built once at startup, shaped like a real shop's product page and
as heavy: 30 to 60 KB (seeded, so every run serves the same bytes), with JSON-LD,
OpenGraph, an inline stylesheet, tracker script and app state, a menu, a
description, a specification table, reviews, related products and a footer. Every link in the
site leads to a product page (menu picks, related products) or off the site, so
a crawl from `/` finds exactly `/` and the N products. Size: BENCH_PAGES
(default 2,000).
"""

from __future__ import annotations

import json
import os
import random

PAGES = int(os.environ.get("BENCH_PAGES", "2000"))
MIN_PAGE_BYTES, MAX_PAGE_BYTES = 30_000, 60_000
rng = random.Random(7)
WORDS = (
    "trail light strong water proof boot jacket tent stove carbon alloy pack rope lamp warm dry grip "
    "summit valley ridge river forest stone wind snow rain sun"
).split()
STYLE = "<style>" + "".join(
    f".c{i}{{margin:{i % 7}px {i % 5}px;padding:{i % 3}px;color:#{i * 2654435761 % 0xFFFFFF:06x}}}" for i in range(120)
) + "</style>"
TRACKERS = "<script>window.dataLayer=window.dataLayer||[];" + "".join(
    f"var tracker{i}={{id:'UA-{i:06d}',events:['view','click','scroll']}};" for i in range(90)
) + "</script>"
FOOTER = "".join(f'<li><a href="https://help.example/topic-{i}">Help topic {i}</a></li>' for i in range(10))


def sentence(n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def review(i: int) -> str:
    return (f'<article class="review c{i % 120}"><h3>{sentence(4)}</h3><p class="review-meta">by Walker {i} on '
            f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}</p><p>{sentence(60)}</p></article>")


def product_page(n: int) -> bytes:
    related = sorted({(n + k) % PAGES + 1 for k in range(1, 6)} | {rng.randint(1, PAGES) for _ in range(7)})
    cards = "".join(
        f'<li class="product-card"><a href="/p/{m}"><img src="https://img.example/{m}.jpg" alt="Product {m}" '
        f'loading="lazy" width="240" height="240"></a><a class="card-title" href="/p/{m}">Product {m}</a>'
        f'<span class="card-price">{m % 200 + 9}.99 EUR</span></li>'
        for m in related
    )
    menu = "".join(f'<li class="menu-item"><a class="menu-link" href="/p/{rng.randint(1, PAGES)}">Pick {k}</a></li>'
                   for k in range(12))
    paragraphs = "".join(f"<p>{sentence(40)}</p>" for _ in range(8))
    rows = "".join(f"<tr><th>{rng.choice(WORDS)}</th><td>{rng.randint(1, 999)} g</td></tr>" for _ in range(15))
    head = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Product {n} | Bench Shop</title>
<meta name="description" content="{sentence(20)}"><link rel="canonical" href="/p/{n}">
<meta property="og:type" content="product"><meta property="og:title" content="Product {n}">
<meta property="product:price:amount" content="{n % 200 + 9}.99"><meta property="product:price:currency" content="EUR">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Product {n}",
"sku":"SKU-{n}","brand":{{"@type":"Brand","name":"Bench"}},"image":"https://img.example/{n}.jpg",
"offers":{{"@type":"Offer","price":"{n % 200 + 9}.99","priceCurrency":"EUR",
"availability":"https://schema.org/InStock"}}}}</script>{STYLE}{TRACKERS}</head>
<body class="product-page"><header class="site-header"><a class="logo" href="https://bench.example/">Bench Shop</a>
<nav class="mega-menu"><ul>{menu}</ul></nav></header><main><h1>Product {n}</h1>{paragraphs}
<table>{rows}</table><section class="reviews"><h2>Reviews</h2>"""
    tail = f"""</section><h2>Related</h2><ul class="related">{cards}</ul></main>
<aside>{sentence(30)}</aside><footer><ul>{FOOTER}</ul>{sentence(25)}</footer></body></html>"""
    # Half of what the page weighs beyond its fixed parts is reviews (content), half the
    # app's state as inline JSON (markup only), as on shops built with a JS framework.
    target = rng.randint(MIN_PAGE_BYTES, MAX_PAGE_BYTES)
    reviews: list[str] = []
    size = len(head) + len(tail)
    half = (size + target) // 2
    while size < half:
        reviews.append(review(len(reviews)))
        size += len(reviews[-1])
    variants = range((target - size) // 60)
    state = [{"id": f"v{n}-{k}", "stock": rng.randint(0, 99), "label": sentence(3)} for k in variants]
    script = f'<script id="app-state" type="application/json">{json.dumps({"variants": state})}</script>'
    return (head + "".join(reviews) + tail.replace("</body>", f"{script}</body>")).encode()


BODIES = {f"/p/{n}": product_page(n) for n in range(1, PAGES + 1)}
BODIES["/"] = b'<!doctype html><html><body><a href="/p/1">start</a></body></html>'
BODIES["/robots.txt"] = b"User-agent: *\nAllow: /\n"


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = BODIES.get(scope["path"])
    status = 200 if body is not None else 404
    body = body or b"not found"
    kind = b"text/plain" if scope["path"] == "/robots.txt" else b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

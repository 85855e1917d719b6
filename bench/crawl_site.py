"""A generated shop of N product pages on loopback, for the crawl bench (served by uvicorn).

Every page is built once at startup: a realistic product page (~20 KB) with
JSON-LD, OpenGraph, navigation, a description, a specification table and
links to a dozen other products. Size: BENCH_PAGES (default 2,000).
"""

from __future__ import annotations

import os
import random

PAGES = int(os.environ.get("BENCH_PAGES", "2000"))
rng = random.Random(7)
WORDS = (
    "trail light strong water proof boot jacket tent stove carbon alloy pack rope lamp warm dry grip "
    "summit valley ridge river forest stone wind snow rain sun"
).split()


def sentence(n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def product_page(n: int) -> bytes:
    links = sorted({(n + k) % PAGES + 1 for k in range(1, 6)} | {rng.randint(1, PAGES) for _ in range(7)})
    related = "".join(f'<li><a href="/p/{m}">Product {m}</a></li>' for m in links)
    nav = "".join(f'<a href="/c/{c}">Category {c}</a> ' for c in range(12))
    paragraphs = "".join(f"<p>{sentence(40)}</p>" for _ in range(12))
    rows = "".join(f"<tr><th>{rng.choice(WORDS)}</th><td>{rng.randint(1, 999)} g</td></tr>" for _ in range(15))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Product {n} | Bench Shop</title>
<meta name="description" content="{sentence(20)}"><link rel="canonical" href="/p/{n}">
<meta property="og:type" content="product"><meta property="og:title" content="Product {n}">
<meta property="product:price:amount" content="{n % 200 + 9}.99"><meta property="product:price:currency" content="EUR">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Product","name":"Product {n}",
"sku":"SKU-{n}","brand":{{"@type":"Brand","name":"Bench"}},"image":"https://img.example/{n}.jpg",
"offers":{{"@type":"Offer","price":"{n % 200 + 9}.99","priceCurrency":"EUR",
"availability":"https://schema.org/InStock"}}}}</script></head>
<body><header><nav>{nav}</nav></header><main><h1>Product {n}</h1>{paragraphs}
<table>{rows}</table><h2>Related</h2><ul>{related}</ul></main>
<aside>{sentence(30)}</aside><footer>{sentence(25)} <a href="/legal">Legal</a></footer></body></html>""".encode()


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

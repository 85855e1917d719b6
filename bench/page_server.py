"""A small fixed product page on loopback, served by uvicorn in a process of its own (`/slow?ms=N`: after N ms)."""

from __future__ import annotations

import asyncio

PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench product</title>
<meta name="description" content="A small product page for the benches">
<meta property="og:type" content="product"><meta property="product:price:amount" content="19.99">
<meta property="product:price:currency" content="EUR">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Bench product",
"sku":"B-1","brand":{"@type":"Brand","name":"Acme"},"offers":{"@type":"Offer","price":"19.99",
"priceCurrency":"EUR","availability":"https://schema.org/InStock"}}</script></head>
<body><nav><a href="/">Home</a> <a href="/shop">Shop</a></nav><main><h1>Bench product</h1>
<p>A sturdy product, described in a paragraph long enough to count as the main content of a page.</p>
<ul><li>Light</li><li>Strong</li></ul><p><a href="/p/2">Next product</a></p></main>
<footer>Footer, links and legal text</footer></body></html>"""


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":  # `/slow?ms=200`: the page, after that long (a job that holds its slot)
        query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part)
        await asyncio.sleep(int(query.get("ms", "0")) / 1000)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(PAGE)).encode())]})
    await send({"type": "http.response.body", "body": PAGE})

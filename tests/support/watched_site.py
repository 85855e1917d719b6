"""A shop on loopback whose pages a test changes between runs: prices, stock, text, pages that go away."""

from __future__ import annotations

import asyncio
import html
import threading
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Product:
    name: str
    price: float
    availability: str = "InStock"
    text: str = "A sturdy thing, made to last."


@dataclass
class WatchedSite:
    """The shop's state; tests change it between runs (the server reads it in its own thread)."""

    products: dict[str, Product] = field(default_factory=dict)
    delay_s: float = 0.0  # each product page answers this late (a crawl then spreads over its workers)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, slug: str, **changes: object) -> None:
        with self.lock:
            product = self.products[slug]
            for name, value in changes.items():
                setattr(product, name, value)

    def remove(self, slug: str) -> None:
        with self.lock:
            del self.products[slug]

    async def _product(self, request: Request) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.lock:
            product = self.products.get(request.path_params["slug"])
            if product is None:
                return PlainTextResponse("gone", status_code=404)
            ld = orjson.dumps({"@context": "https://schema.org", "@type": "Product", "name": product.name,
                               "offers": {"@type": "Offer", "price": f"{product.price:.2f}", "priceCurrency": "EUR",
                                          "availability": f"https://schema.org/{product.availability}"}}).decode()
            name, text = html.escape(product.name), html.escape(product.text)
            price = f"{product.price:.2f}"
        return HTMLResponse(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>
<script type="application/ld+json">{ld}</script></head>
<body><main><h1>{name}</h1><p>{text}</p><p>Price: {price} EUR</p></main></body></html>""")

    async def _index(self, request: Request) -> Response:
        with self.lock:
            links = "".join(f'<li><a href="/p/{slug}">{html.escape(p.name)}</a></li>' for slug, p in
                            self.products.items())
        return HTMLResponse(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><main><h1>Shop</h1><ul>{links}</ul></main></body></html>""")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/", self._index), Route("/p/{slug}", self._product)])

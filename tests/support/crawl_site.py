"""A small website to crawl on loopback: nested sections, products, a robots.txt, a sitemap.

    /                 links: /about, /products/, /blog/, /private/secret, an external site
    /products/        links: /products/1 … /products/6
    /products/<n>     a JSON-LD product, links to the next product and back to /products/
    /blog/            links: /blog/post-1, /blog/post-2
    /blog/post-<n>    an article; post-1 links /blog/post-1/comments (depth 3 from /)
    /private/…        disallowed by robots.txt
Every request is logged in `REQUESTS`, so tests can tell what was fetched.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

REQUESTS: list[str] = []

ROBOTS = "User-agent: *\nDisallow: /private/\n"


def page(title: str, body: str, links: list[str], extra_head: str = "") -> HTMLResponse:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><title>{title}</title>{extra_head}</head><body>"
        f"<nav><a href='/'>Home</a></nav><main><h1>{title}</h1><p>{body}</p><ul>{anchors}</ul></main>"
        "<footer>Example footer</footer></body></html>"
    )


async def any_page(request: Request) -> Response:
    path = request.url.path
    REQUESTS.append(path)
    if path == "/robots.txt":
        return PlainTextResponse(ROBOTS)
    if path == "/sitemap.xml":
        base = f"{request.url.scheme}://{request.url.netloc}"
        urls = "".join(f"<url><loc>{base}/products/{n}</loc></url>" for n in range(1, 7))
        return Response(f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"{urls}</urlset>", media_type="application/xml")
    if path == "/":
        return page("Home", "Welcome to the example shop, selling trail gear since 1999.",
                    ["/about", "/products/", "/blog/", "/private/secret", "https://elsewhere.example/"])
    if path == "/about":
        return page("About us", "The shop is run by two hikers in Innsbruck. Our opening hours are 9 to 18.", ["/"])
    if path == "/products/":
        return page("Products", "All products.", [f"/products/{n}" for n in range(1, 7)])
    if path.startswith("/products/") and path.rsplit("/", 1)[1].isdigit():
        n = int(path.rsplit("/", 1)[1])
        if not 1 <= n <= 6:
            return PlainTextResponse("no such product", status_code=404)
        product = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", '
                   f'"name": "Trail product {n}", "sku": "TP-{n}", "offers": {{"@type": "Offer", '
                   f'"price": "{10 * n}.00", "priceCurrency": "EUR"}}}}</script>')
        nxt = [f"/products/{n + 1}"] if n < 6 else []
        return page(f"Trail product {n}", f"Product number {n} for the trail.", [*nxt, "/products/"], product)
    if path == "/blog/":
        return page("Blog", "Stories from the trail.", ["/blog/post-1", "/blog/post-2"])
    if path == "/blog/post-1":
        return page("Waterproof boots", "Our boots are waterproof up to 10 cm of water, tested in the Alps.",
                    ["/blog/post-1/comments"])
    if path == "/blog/post-2":
        return page("Returns", "You can return any product within 30 days for a full refund.", [])
    if path == "/blog/post-1/comments":
        return page("Comments", "Great boots!", [])
    if path.startswith("/private/"):
        return page("Secret", "This page must never be crawled.", [])
    return PlainTextResponse("not found", status_code=404)


def crawl_site_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", any_page)])

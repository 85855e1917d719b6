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


class WideSite:
    """A site of `pages` pages one hop from `/`, each answered after `delay_s`, that counts what it serves.

    `/` links to every page, and each page to two others, so any crawl of it has plenty to take at once.
    It keeps every request's path, how many it serves at once now, and the most it ever served at once:
    what HOST_CONCURRENCY must bound, whichever workers ask. Served from one thread, so no lock is needed.
    """

    def __init__(self, pages: int, delay_s: float = 0.0) -> None:
        self.pages = pages
        self.delay_s = delay_s
        self.requests: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def answer(self, request: Request) -> Response:
        import asyncio

        path = request.url.path
        self.requests.append(path)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if path == "/robots.txt":
                return PlainTextResponse("User-agent: *\nDisallow: /private/\n")
            if path == "/":
                return page("Index", "Every page.", [f"/p/{n}" for n in range(self.pages)])
            if path.startswith("/p/") and path[3:].isdigit() and int(path[3:]) < self.pages:
                n = int(path[3:])
                return page(f"Page {n}", f"Page number {n}.",
                            [f"/p/{(n + 1) % self.pages}", f"/p/{(n * 7 + 3) % self.pages}", "/"])
            return PlainTextResponse("not found", status_code=404)
        finally:
            self.in_flight -= 1

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.answer)])

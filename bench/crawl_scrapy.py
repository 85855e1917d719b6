"""Scrapy on the crawl bench's site: the reference bench/crawl.py --compare-scrapy measures us against.

    .venv/bin/python bench/crawl_scrapy.py http://127.0.0.1:PORT/ [--pages 2000]

A CrawlSpider as Scrapy's docs write one, run with Scrapy's default settings except
ROBOTSTXT_OBEY=True (so it reads robots.txt first, as our crawl does) and a
quiet log (our worker logs warnings only; Scrapy's default DEBUG writes a line
per page). From each page it extracts the JSON-LD product (name, brand, SKU,
price, currency, availability, image) into a JSON lines feed, as `scrapy crawl
-o` would, and follows every link within the site. Prints one line: pages,
seconds from the engine's start to the spider's close, pages/s.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


def jsonld_product(response: Response) -> dict[str, Any] | None:
    for script in response.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for node in data if isinstance(data, list) else data.get("@graph", [data]):
            if isinstance(node, dict) and node.get("@type") == "Product":
                offer = node.get("offers") or {}
                offer = offer[0] if isinstance(offer, list) and offer else offer
                brand = node.get("brand")
                return {
                    "url": response.url,
                    "name": node.get("name"),
                    "brand": brand.get("name") if isinstance(brand, dict) else brand,
                    "sku": node.get("sku"),
                    "price": offer.get("price"),
                    "currency": offer.get("priceCurrency"),
                    "availability": str(offer.get("availability", "")).rsplit("/", 1)[-1] or None,
                    "image": node.get("image"),
                }
    return None


class ShopSpider(CrawlSpider):
    """The docs' way to crawl a site: a CrawlSpider whose one rule follows every link within it.

    The link extractor drops links off the site and repeats within a page before they
    become requests (a `response.follow_all(css="a")` spider makes a request of each of a
    page's ~70 links and runs 3x slower here)."""

    name = "bench_shop"

    def __init__(self, start: str, **kwargs: Any) -> None:
        parts = urlsplit(start)
        self.start_urls = [start]
        self.allowed_domains = [parts.hostname or ""]
        # `allow_domains` compares host:port with a bare host, so loopback sites need the origin as a pattern.
        within = rf"^{re.escape(f'{parts.scheme}://{parts.netloc}')}/"
        self.rules = (Rule(LinkExtractor(allow=within), callback="parse_page", follow=True),)
        super().__init__(**kwargs)

    def parse_page(self, response: Response) -> Iterator[dict[str, Any]]:
        product = jsonld_product(response)
        if product is not None:
            yield product


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("start", help="the site's start page")
    parser.add_argument("--pages", type=int, default=2000, help="stop after this many pages")
    args = parser.parse_args()
    robots = f"{args.start.rstrip('/')}/robots.txt"
    with tempfile.TemporaryDirectory(prefix="ss-bench-scrapy-") as workdir:
        feed = Path(workdir) / "products.jsonl"
        process = CrawlerProcess({
            "ROBOTSTXT_OBEY": True,
            "LOG_LEVEL": "WARNING",
            "CLOSESPIDER_PAGECOUNT": args.pages + 1,  # robots.txt counts as a response
            "FEEDS": {str(feed): {"format": "jsonlines"}},
        })  # fmt: skip
        crawler = process.create_crawler(ShopSpider)
        clock = {"pages": 0, "started": 0.0, "ended": 0.0}

        def on_response(response: Response, **_: Any) -> None:
            if response.url != robots:
                clock["pages"] += 1

        def on_start(**_: Any) -> None:
            clock["started"] = time.perf_counter()

        def on_close(**_: Any) -> None:
            clock["ended"] = time.perf_counter()

        crawler.signals.connect(on_response, signal=signals.response_received)
        crawler.signals.connect(on_start, signal=signals.engine_started)
        crawler.signals.connect(on_close, signal=signals.spider_closed)
        process.crawl(crawler, start=args.start)
        process.start()
        products = sum(1 for _ in feed.open()) if feed.exists() else 0
    elapsed = clock["ended"] - clock["started"]
    print(f"scrapy {scrapy.__version__}: {clock['pages']:.0f} pages, {products} products in {elapsed:.2f} s "
          f"= {clock['pages'] / elapsed:,.0f} pages/s")


if __name__ == "__main__":
    main()

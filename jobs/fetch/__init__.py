"""The guarded page fetcher: safe to point at the open internet and at hostile pages.

    validate_url(url, policy)      submit time: parse, normalize, refuse (no DNS)
    PageFetcher(...).fetch(url)    resolve once, check every address, connect to
                                   a checked one; redirects by hand; bounded body
    guarded_client(...)            the same guard for other requests (webhooks)

Two backends carry the bytes under httpx's API, chosen by `backend=`: "httpx"
(httpcore, transports/httpcore_transport.py) and "aiohttp"
(transports/aiohttp_transport.py, about 40% less CPU per page), the default
everywhere (`guarded_client.DEFAULT_BACKEND`, FETCH_BACKEND's default too).
Both connect only through the AddressGuard (guard.py).
"""

from jobs.fetch.addresses import AddressPolicy
from jobs.fetch.body import read_body
from jobs.fetch.fetcher import FetchedPage, PageFetcher
from jobs.fetch.guarded_client import guarded_client
from jobs.fetch.limits import FetchLimits
from jobs.fetch.resolver import Resolver, SystemResolver
from jobs.fetch.translate import translate_error
from jobs.fetch.url_validation import validate_url

__all__ = [
    "AddressPolicy",
    "FetchLimits",
    "FetchedPage",
    "PageFetcher",
    "Resolver",
    "SystemResolver",
    "guarded_client",
    "read_body",
    "translate_error",
    "validate_url",
]

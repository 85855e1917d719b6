"""A page that declares no charset and is not UTF-8 reads as browsers read it: windows-1252 (WHATWG)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread
from tests.support.stack import Stack

LEGACY_PAGE = "<html><head><title>Crème brûlée</title></head><body><p>Crème brûlée — 5 €</p></body></html>"


async def legacy(request: Request) -> Response:
    # `text/html` and no charset, anywhere: neither in the header nor in a <meta>.
    return Response(LEGACY_PAGE.encode("cp1252"), headers={"Content-Type": "text/html"})


@pytest.fixture(scope="module")
def legacy_site() -> Iterator[str]:
    with serve_in_thread(Starlette(routes=[Route("/legacy", legacy)])) as base:
        yield base


async def test_an_undeclared_latin_page_is_not_mojibake(stack: Stack, legacy_site: str) -> None:
    """It came out as `Cr\ufffdme br\ufffdl\ufffde`: undeclared bytes were read as UTF-8, bad ones replaced."""
    job = await stack.submit({"type": "scrape", "url": f"{legacy_site}/legacy", "formats": ["markdown", "metadata"]})
    assert (await stack.wait_terminal(job["id"]))[-1]["type"] == "completed"
    result = (await stack.client.get(f"/jobs/{job['id']}/result")).json()
    assert result["title"] == "Crème brûlée"
    assert "Crème brûlée — 5 €" in result["markdown"]
    assert "\ufffd" not in str(result)

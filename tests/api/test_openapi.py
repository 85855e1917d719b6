"""`/openapi.json` is a valid OpenAPI document of the routes the app serves; `/docs` reads it offline."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.support.stack import Stack


async def test_openapi_is_valid_and_covers_every_route(stack: Stack) -> None:
    document = (await stack.client.get("/openapi.json")).json()
    validate(document)
    routes = {(route.path, method.lower()) for route in stack.app_routes() for method in route.methods or ()
              if method != "HEAD" and route.path.startswith("/jobs")}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "delete")}
    assert {path.replace("{job_id}", "{job_id}") for path, _ in routes} <= {path for path, _ in documented}
    assert routes <= documented
    body = document["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/JobRequest")
    kinds = document["components"]["schemas"]["JobRequest"]["discriminator"]["mapping"]
    assert set(kinds) == {"scrape", "crawl", "batch", "ask"}


async def test_docs_page_is_served_without_any_cdn(stack: Stack) -> None:
    page = await stack.client.get("/docs")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/docs/docs.js", "/docs/docs.css"):
        response = await stack.client.get(asset)
        assert response.status_code == 200 and "https://" not in response.text
    assert (await stack.client.get("/docs/../app.py")).status_code == 404

"""`/openapi.json` is a valid OpenAPI document of the routes the app serves; `/docs` reads it offline."""

from __future__ import annotations

from openapi_spec_validator import validate

from service.openapi import ServerBounds, openapi_document
from tests.support.stack import Stack

# The pages for people, and the schema itself: served, but not part of the API the schema describes.
NOT_API = {"/", "/docs", "/docs/{name}", "/openapi.json"}


async def test_openapi_is_valid_and_covers_every_route(stack: Stack) -> None:
    document = (await stack.client.get("/openapi.json")).json()
    validate(document)
    routes = {(route.path, method.lower()) for route in stack.app_routes() for method in route.methods or ()
              if method != "HEAD" and route.path not in NOT_API}
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert routes == documented  # every API route documented, and nothing documented that is not served
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


async def test_the_security_scheme_is_declared_only_when_a_key_is_required(stack: Stack) -> None:
    document = (await stack.client.get("/openapi.json")).json()
    assert "securitySchemes" not in document["components"] and "security" not in document
    with_keys = openapi_document(ServerBounds(auth_required=True))
    validate(with_keys)
    assert with_keys["security"] == [{"apiKey": []}]
    assert with_keys["paths"]["/health"]["get"]["security"] == []  # health and metrics never need a key
    assert "401" in with_keys["paths"]["/queue"]["get"]["responses"]


async def test_a_405_lists_every_method_of_the_resource(stack: Stack) -> None:
    for path, methods in (("/jobs/" + "0" * 32, {"GET", "DELETE"}), ("/jobs", {"GET", "POST"})):
        response = await stack.client.request("OPTIONS", path)
        assert response.status_code == 405
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert methods <= allowed <= methods | {"HEAD"}


async def test_the_document_states_this_servers_maxima_and_what_it_lacks(stack: Stack) -> None:
    """A schema-valid request must not meet a 422 the document never mentioned (schemathesis found
    `max_attempts: 202` documented as fine and refused as over MAX_ATTEMPTS)."""
    document = (await stack.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    settings = stack.state.settings
    assert schemas["ScrapeRequest"]["properties"]["max_attempts"]["maximum"] == settings.max_attempts
    assert schemas["CrawlRequest"]["properties"]["limit"]["maximum"] == settings.crawl_max_pages
    assert schemas["BatchRequest"]["properties"]["urls"]["maxItems"] == settings.batch_max_urls
    timeout = schemas["AskRequest"]["properties"]["timeout_s"]["anyOf"][0]
    assert timeout["maximum"] == settings.max_job_timeout_s
    # No LLM on this server: extraction is declared as refused, and it is.
    assert schemas["ScrapeRequest"]["properties"]["extract"]["type"] == "null"
    refused = await stack.client.post("/jobs", json={"type": "scrape", "url": "http://127.0.0.1:9/",
                                                     "extract": {"schema": {"type": "object"}}})
    assert refused.status_code == 422

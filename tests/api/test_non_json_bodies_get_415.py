"""A body that is not JSON by its Content-Type gets 415 with the header to send, not a JSON parse error."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded",  # curl -d's default
    "text/plain;charset=UTF-8",
    "multipart/form-data; boundary=x",
])
async def test_a_non_json_content_type_is_415_with_a_hint(idle_stack: Stack, site: str, content_type: str) -> None:
    response = await idle_stack.client.post("/jobs", content=f'{{"url": "{site}/plain"}}',
                                            headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert content_type.split(";")[0] in error["message"] and "Content-Type: application/json" in error["message"]
    assert (await idle_stack.client.get("/jobs")).json()["jobs"] == []  # nothing was submitted


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json", None])
async def test_json_or_no_content_type_is_read_as_json(idle_stack: Stack, site: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await idle_stack.client.post("/jobs", content=f'{{"url": "{site}/plain"}}', headers=headers)
    assert response.status_code == 202, response.text

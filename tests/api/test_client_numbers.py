"""Hostile numbers and ids from clients, sent to the Procfile's own `web:` process: 400/422/404, never a 500.

`'²'.isdigit()` is True but `int('²')` raises, and Redis refuses stream ids past
2^64: these once answered 500, 503 (an outage that was not one), or a 200 SSE
answer with only `retry:` that an EventSource reconnects to forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.settings import WebSettings
from tests.support.process import settings_env
from tests.support.procfile import procfile_web

TOO_BIG_IDS = ["99999999999999999999-0", "18446744073709551616-0", "0-18446744073709551616",
               "18446744073709551615-18446744073709551615", "²", "1-²", "\u0661\u0662-0", "+1-0", "1_0-0"]
SSE = {"Accept": "text/event-stream"}
JSON = {"Accept": "application/json"}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


@pytest.fixture
def web(settings: WebSettings) -> Iterator[httpx.Client]:
    with procfile_web(settings_env(settings)) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client
        # Whatever it was sent, the process still serves.
        assert client.get("/health").status_code == 200


def scheduled_job(client: httpx.Client) -> dict[str, Any]:
    """A job that stays put (an hour ahead), so its events answer without a worker."""
    response = client.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "delay_s": 3600})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def test_unicode_digits_and_out_of_range_event_ids_are_400(web: httpx.Client) -> None:
    job = scheduled_job(web)
    events = f"/jobs/{job['id']}/events"
    for bad in TOO_BIG_IDS:
        for accept in (SSE, JSON):
            by_header = web.get(events, headers={**accept, "Last-Event-ID": bad.encode()})
            by_query = web.get(events, params={"last_event_id": bad}, headers=accept)
            for response in (by_header, by_query):
                assert response.status_code == 400, (bad, accept, response.text)
                assert error_code(response) == "invalid_event_id"
    # The greatest id of each part alone is still an id (nothing follows it yet).
    history = web.get(events, params={"format": "json", "last_event_id": "18446744073709551615-0"})
    assert history.status_code == 200 and history.json() == []


def test_format_other_than_json_is_422(web: httpx.Client) -> None:
    job = scheduled_job(web)
    for value in ("null", "", "JSON", "text"):
        response = web.get(f"/jobs/{job['id']}/events", params={"format": value})
        assert response.status_code == 422, (value, response.text)
        assert response.json()["error"]["field"] == "format"


def test_unicode_digits_in_tokens_answer_like_a_foreign_job(web: httpx.Client) -> None:
    job = scheduled_job(web)
    real_token = httpx.URL(job["links"]["events"]).params["token"]
    expiry, _, signature = real_token.partition(".")
    for token in ("².x", "²", f"{expiry}.{signature[:-1]}é", f"{expiry}.²", "9" * 400 + ".x", "-1.x", "."):
        for path in (f"/jobs/{job['id']}/events", f"/jobs/{job['id']}/result"):
            response = web.get(path, params={"token": token, "format": "json"} if "events" in path else
                               {"token": token})
            assert response.status_code == 404, (token, path, response.text)
            assert error_code(response) == "not_found"
    opened = web.get(f"/jobs/{job['id']}/events", params={"token": real_token, "format": "json"})
    assert opened.status_code == 200


def test_unicode_digits_in_limits_and_cursors_are_422(web: httpx.Client) -> None:
    scheduled_job(web)
    for params in ({"limit": "²"}, {"limit": "\u0661\u0660"}, {"limit": "0"}, {"limit": "101"}, {"limit": "+5"},
                   {"limit": " 5"}, {"limit": "9" * 5000}, {"cursor": "²:abc"}, {"cursor": "1:²"},
                   {"cursor": "99999999999999999999:abc"}, {"cursor": "-1:abc"}):
        response = web.get("/jobs", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["field"] == next(iter(params))
    assert web.get("/jobs", params={"limit": "100"}).status_code == 200


def test_run_at_is_capped_like_delay_s(web: httpx.Client) -> None:
    for run_at in ("9999-12-31", "9999-12-31T23:59:59-23:59", "2999-01-01T00:00:00Z"):
        response = web.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "run_at": run_at})
        assert response.status_code == 422, (run_at, response.text)
        assert response.json()["error"]["field"] == "run_at"
    refused_delay = web.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "delay_s": 31 * 86_400})
    assert refused_delay.status_code == 422
    within = web.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "run_at": "2000-01-01"})
    assert within.status_code == 202  # in the past: it starts now


@pytest.fixture
def keyed_web(settings: WebSettings) -> Iterator[tuple[httpx.Client, str]]:
    env = settings_env(settings, AUTH_REQUIRED="true")
    created = subprocess.run([sys.executable, "-m", "service.cli", "keys", "create", "numbers"],
                             env={**os.environ, **env}, capture_output=True, text=True, check=True)
    secret = created.stdout.strip().splitlines()[-1].strip()
    with procfile_web(env) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client, secret


def test_without_a_key_every_job_route_is_401_before_any_lookup(keyed_web: tuple[httpx.Client, str]) -> None:
    client, secret = keyed_web
    created = client.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "delay_s": 3600},
                          headers={"Authorization": f"Bearer {secret}"})
    assert created.status_code == 202, created.text
    job = created.json()
    unknown = "0" * 32
    for job_id in (job["id"], unknown):
        answers = [client.get(f"/jobs/{job_id}"), client.delete(f"/jobs/{job_id}"),
                   client.post(f"/jobs/{job_id}/retry"), client.get(f"/jobs/{job_id}/result"),
                   client.get(f"/jobs/{job_id}/events", headers=SSE),
                   client.get(f"/jobs/{job_id}/events", headers=JSON),
                   client.get(f"/jobs/{job_id}", headers={"Authorization": "Bearer not-a-key"})]
        for response in answers:
            assert response.status_code == 401, (job_id, response.request.url, response.text)
            assert error_code(response) == "unauthorized"
    # The link token still opens its own job's events and result, and no other.
    events_url = httpx.URL(job["links"]["events"])
    opened = client.get(events_url.path, params={**dict(events_url.params), "format": "json"})
    assert opened.status_code == 200 and opened.json()[0]["type"] == "queued"
    result_url = httpx.URL(job["links"]["result"])
    assert client.get(result_url.path, params=dict(result_url.params)).status_code == 409  # not completed yet
    foreign = client.get(f"/jobs/{unknown}/result", params=dict(result_url.params))
    assert foreign.status_code == 404
    assert client.get("/health").status_code == 200

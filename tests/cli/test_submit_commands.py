"""scrape, crawl, batch from a terminal: what lands on stdout, what the exit status says."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.gated_site import gated_site
from tests.support.stack import Stack

from .conftest import run_cli, started_cli


async def test_scrape_prints_the_result_document_and_exits_0(stack: Stack, site: str) -> None:
    done = await run_cli(["scrape", f"{site}/plain", "--formats", "metadata,links"], stack.base_url)
    assert done.code == 0, done.stderr
    api = (await stack.client.get(f"/jobs/{done.job_id}/result")).json()
    assert done.json() == api and api["title"] == "Plain page"
    # Progress went to stderr, one plain line per event (stderr is a pipe here), ending with the end.
    assert done.stderr.splitlines()[-1].startswith("completed ")
    assert any(line.startswith("progress  fetch") for line in done.stderr.splitlines())


async def test_scrape_into_a_file(stack: Stack, site: str, tmp_path: Path) -> None:
    target = tmp_path / "page.json"
    done = await run_cli(["scrape", f"{site}/plain", "-o", str(target)], stack.base_url)
    assert done.code == 0, done.stderr
    assert done.stdout == ""
    assert json.loads(target.read_text())["title"] == "Plain page"


async def test_no_wait_prints_the_receipt(stack: Stack, site: str) -> None:
    done = await run_cli(["scrape", f"{site}/plain", "--no-wait", "--priority", "9"], stack.base_url)
    assert done.code == 0, done.stderr
    receipt = done.json()
    assert receipt["status"] == "queued" and receipt["links"]["self"] == f"/jobs/{receipt['id']}"
    record = (await stack.client.get(f"/jobs/{receipt['id']}")).json()
    assert record["options"]["priority"] == 9


async def test_a_failed_job_exits_1_with_its_code(stack: Stack, site: str) -> None:
    done = await run_cli(["scrape", f"{site}/status/404"], stack.base_url)
    assert done.code == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith("http_status: ")


async def test_a_refused_request_exits_2_naming_the_field(stack: Stack) -> None:
    done = await run_cli(["scrape", "ftp://example.com/file"], stack.base_url)
    assert done.code == 2
    assert done.stderr.startswith("url: ") and "ftp" in done.stderr


async def test_usage_errors_exit_2(stack: Stack) -> None:
    assert (await run_cli(["scrape"], stack.base_url)).code == 2  # argparse: URL missing
    empty = await run_cli(["batch", "-"], stack.base_url, stdin=b"# nothing here\n\n")
    assert empty.code == 2 and "no URLs" in empty.stderr


async def test_an_unreachable_server_exits_2_saying_where(stack: Stack) -> None:
    done = await run_cli(["jobs", "--server", "http://127.0.0.1:9"], stack.base_url)
    assert done.code == 2 and "cannot reach http://127.0.0.1:9" in done.stderr


async def test_a_job_cancelled_while_followed_exits_3(stack: Stack) -> None:
    with gated_site() as (url, gate):
        async with started_cli(["scrape", url], stack.base_url) as cli:
            line = await cli.stderr_line_matching(r"^job [0-9a-f]{32}: ")
            job_id = line.split()[1].rstrip(":")
            await cli.stderr_line_matching(r"^progress  fetch")
            assert (await stack.client.delete(f"/jobs/{job_id}")).status_code == 202
            done = await cli.finished()
        gate.open()
    assert done.code == 3
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith("cancelled: ")


async def test_a_crawl_writes_one_json_line_per_page(stack: Stack, shop: str) -> None:
    done = await run_cli(["crawl", f"{shop}/", "--limit", "8", "--include", "^/(products/.*)?$"], stack.base_url)
    assert done.code == 0, done.stderr
    lines = done.json_lines()
    api = (await stack.client.get(f"/jobs/{done.job_id}/result", params={"limit": 100})).json()
    assert lines == api["pages"]
    assert len(lines) == 8 and len({page["url"] for page in lines}) == 8
    assert all(page["url"].startswith(shop) for page in lines)
    # Each page was also announced on stderr as it came.
    assert sum(line.startswith("page ") for line in done.stderr.splitlines()) == 8


async def test_a_crawl_into_a_file(stack: Stack, shop: str, tmp_path: Path) -> None:
    target = tmp_path / "pages.jsonl"
    done = await run_cli(["crawl", f"{shop}/blog/", "--include", "^/blog/", "-o", str(target)], stack.base_url)
    assert done.code == 0, done.stderr
    assert done.stdout == ""
    titles = [json.loads(line)["title"] for line in target.read_text().splitlines()]
    assert sorted(titles) == ["Blog", "Comments", "Returns", "Waterproof boots"]


async def test_a_batch_from_stdin_keeps_the_order_of_its_urls(stack: Stack, site: str) -> None:
    urls = f"# pages to read\n{site}/status/404\n\n{site}/plain\n".encode()
    done = await run_cli(["batch", "-"], stack.base_url, stdin=urls)
    assert done.code == 0, done.stderr
    first, second = done.json_lines()
    assert first["url"] == f"{site}/status/404" and first["error"]["code"] == "http_status"
    assert second["title"] == "Plain page"

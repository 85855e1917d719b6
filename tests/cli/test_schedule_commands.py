"""`scrapestream schedule add | list | pause | resume | rm`, run as a user runs them, against a real app and worker."""

from __future__ import annotations

from tests.support.stack import Stack

from .conftest import run_cli


async def test_add_list_pause_resume_and_remove(idle_stack: Stack, site: str) -> None:
    page = f"{site}/plain"
    added = await run_cli(["schedule", "add", "--every", "1h", page], idle_stack.base_url)
    assert added.code == 0, added.stderr
    schedule_id = added.stdout.split()[1].rstrip(":")
    assert added.stdout.startswith(f"scheduled {schedule_id}: scrape {page} every 1h; next run ")
    api = (await idle_stack.client.get(f"/schedules/{schedule_id}")).json()
    assert (api["every_s"], api["job"]["url"], api["job"]["type"]) == (3600, page, "scrape")

    crawl = await run_cli(["schedule", "add", "--cron", "0 9 * * MON-FRI", "--timezone", "Europe/Paris",
                           "--jitter", "5m", "--crawl", "--limit", "20", f"{site}/", "--json"], idle_stack.base_url)
    assert crawl.code == 0, crawl.stderr
    made = crawl.json()
    assert (made["cron"], made["timezone"], made["jitter_s"], made["job"]["limit"]) == (
        "0 9 * * MON-FRI", "Europe/Paris", 300, 20)

    listing = await run_cli(["schedule", "list"], idle_stack.base_url)
    assert listing.code == 0
    rows = listing.stdout.splitlines()
    assert rows[0].split()[:3] == ["id", "job", "cadence"]
    assert made["id"] in rows[1] and "cron 0 9 * * MON-FRI (Europe/Paris)" in rows[1]
    assert schedule_id in rows[2] and "every 1h" in rows[2] and "active" in rows[2]
    as_json = await run_cli(["schedule", "list", "--json"], idle_stack.base_url)
    assert [s["id"] for s in as_json.json()] == [made["id"], schedule_id]

    paused = await run_cli(["schedule", "pause", schedule_id], idle_stack.base_url)
    assert paused.code == 0 and paused.stdout.startswith(f"paused {schedule_id}")
    assert (await idle_stack.client.get(f"/schedules/{schedule_id}")).json()["paused"] is True
    resumed = await run_cli(["schedule", "resume", schedule_id, "--json"], idle_stack.base_url)
    assert resumed.json()["paused"] is False

    removed = await run_cli(["schedule", "rm", schedule_id, made["id"]], idle_stack.base_url)
    assert removed.code == 0 and removed.stdout.splitlines() == [f"deleted {schedule_id}", f"deleted {made['id']}"]
    assert (await run_cli(["schedule", "list", "--json"], idle_stack.base_url)).json() == []


async def test_mistakes_are_usage_errors_naming_what_is_wrong(idle_stack: Stack, site: str) -> None:
    bad_cron = await run_cli(["schedule", "add", "--cron", "61 * * * *", f"{site}/plain"], idle_stack.base_url)
    assert bad_cron.code == 2 and bad_cron.stderr.startswith("cron: ")
    too_often = await run_cli(["schedule", "add", "--every", "10s", f"{site}/plain"], idle_stack.base_url)
    assert too_often.code == 2 and too_often.stderr.startswith("every_s: at least 60")
    bad_url = await run_cli(["schedule", "add", "--every", "1h", "ftp://example.com/"], idle_stack.base_url)
    assert bad_url.code == 2 and bad_url.stderr.startswith("job.url: ")
    not_a_duration = await run_cli(["schedule", "add", "--every", "soon", f"{site}/plain"], idle_stack.base_url)
    assert not_a_duration.code == 2 and "not a duration" in not_a_duration.stderr
    unknown = await run_cli(["schedule", "rm", "s" + "0" * 32], idle_stack.base_url)
    assert unknown.code == 2 and "not_found" in unknown.stderr

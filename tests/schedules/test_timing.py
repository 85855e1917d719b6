"""When schedules tick: intervals from their anchor, cron in a zone across DST, one catch-up, spread by jitter."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jobs.schedules.store import first_tick
from jobs.schedules.timing import Cadence, cron_error, jitter_ms, zone_error

PARIS = ZoneInfo("Europe/Paris")


def ms(*parts: int, zone: ZoneInfo = PARIS) -> int:
    return int(datetime(*parts, tzinfo=zone).timestamp() * 1000)  # type: ignore[misc]


def test_every_s_ticks_from_its_anchor_and_the_first_is_at_once() -> None:
    cadence = Cadence(every_s=60, anchor_ms=1_000_000)
    assert first_tick(cadence, 1_000_000) == 1_000_000
    assert cadence.upcoming(1_000_000, 3) == [1_060_000, 1_120_000, 1_180_000]


def test_after_downtime_the_next_tick_is_the_first_after_now_not_every_missed_one() -> None:
    cadence = Cadence(every_s=60, anchor_ms=0)
    # Due at 60 s, run at 10 min: that run is the one catch-up; the next tick is 11 min.
    assert cadence.tick_after_run(60_000, 600_000) == 660_000
    # Run on time (or a little late): the next tick follows.
    assert cadence.tick_after_run(60_000, 60_050) == 120_000


def test_a_run_late_by_its_jitter_is_no_downtime() -> None:
    # Every second, up to 2 s of jitter: a run 1.5 s after its tick is on time; its next tick is not skipped.
    cadence = Cadence(every_s=1, jitter_s=2, anchor_ms=0)
    assert cadence.tick_after_run(10_000, 11_500) == 11_000
    assert cadence.tick_after_run(10_000, 20_000) == 21_000  # ten seconds without a worker: downtime


def test_cron_in_a_zone_across_the_spring_forward_gap_runs_once_after_it() -> None:
    # 2026-03-29: Paris skips 02:00-03:00. A job at 02:30 runs once, at 03:00 (Debian cron's rule).
    cadence = Cadence(cron="30 2 * * *", timezone="Europe/Paris")
    runs = cadence.upcoming(ms(2026, 3, 28, 12, 0), 2)
    assert runs == [ms(2026, 3, 29, 3, 0), ms(2026, 3, 30, 2, 30)]


def test_cron_in_a_zone_across_the_fall_back_runs_a_repeated_time_once() -> None:
    # 2026-10-25: Paris goes through 02:00-03:00 twice. A job at 02:30 runs once that day.
    cadence = Cadence(cron="30 2 * * *", timezone="Europe/Paris")
    runs = cadence.upcoming(ms(2026, 10, 24, 12, 0), 2)
    assert len(runs) == 2 and runs[1] - runs[0] > 23 * 3_600_000
    assert datetime.fromtimestamp(runs[0] / 1000, PARIS).date().isoformat() == "2026-10-25"


def test_a_cron_in_paris_runs_at_paris_time() -> None:
    cadence = Cadence(cron="0 9 * * *", timezone="Europe/Paris")
    winter, summer = cadence.next_tick(ms(2026, 1, 10, 0, 0)), cadence.next_tick(ms(2026, 7, 10, 0, 0))
    assert datetime.fromtimestamp(winter / 1000, ZoneInfo("UTC")).hour == 8
    assert datetime.fromtimestamp(summer / 1000, ZoneInfo("UTC")).hour == 7


def test_the_floor_sees_a_crons_closest_runs() -> None:
    assert Cadence(cron="* * * * * *").shortest_gap_s(0) == 1
    assert Cadence(cron="*/15 * * * *").shortest_gap_s(0) == 900


def test_jitter_is_the_same_everywhere_and_spreads_schedules_of_the_same_second() -> None:
    tick = 1_800_000_000_000
    assert jitter_ms("s1", tick, 30) == jitter_ms("s1", tick, 30)
    offsets = {jitter_ms(f"s{n}", tick, 30) for n in range(50)}
    assert all(0 <= offset <= 30_000 for offset in offsets)
    assert len(offsets) > 40  # fifty schedules of the same second start at (nearly) fifty moments
    assert jitter_ms("s1", tick, 0) == 0
    assert Cadence(every_s=60, jitter_s=30).due_ms("s1", tick) == tick + jitter_ms("s1", tick, 30)


def test_bad_expressions_and_zones_say_why() -> None:
    assert cron_error("*/15 * * * *") is None and cron_error("0 9 * * MON-FRI") is None
    assert "not a cron expression" in (cron_error("61 * * * *") or "")
    assert "not a cron expression" in (cron_error("every day") or "")
    assert zone_error("Europe/Paris") is None and zone_error("UTC") is None
    assert "IANA" in (zone_error("Mars/Olympus") or "")
    assert "IANA" in (zone_error("../../etc/passwd") or "")

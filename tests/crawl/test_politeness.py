"""Politeness: requests to one host are limited in number and spaced; other hosts are not held up."""

from __future__ import annotations

import asyncio

import pytest

from jobs.crawl import HostPoliteness


class FakeTime:
    """A clock that only moves when someone sleeps: delays are asserted as asked for, not measured."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def hold(politeness: HostPoliteness, url: str, log: list[str], name: str) -> None:
    async with politeness.slot(url):
        log.append(f"+{name}")
        for _ in range(5):  # let every other task run meanwhile
            await asyncio.sleep(0)
        log.append(f"-{name}")


def most_at_once(log: list[str]) -> int:
    inside = peak = 0
    for entry in log:
        inside += 1 if entry.startswith("+") else -1
        peak = max(peak, inside)
    return peak


async def test_one_per_host_serializes_requests() -> None:
    politeness = HostPoliteness(per_host=1)
    log: list[str] = []
    await asyncio.gather(*(hold(politeness, f"https://example.com/{i}", log, str(i)) for i in range(5)))
    assert most_at_once(log) == 1
    assert log == ["+0", "-0", "+1", "-1", "+2", "-2", "+3", "-3", "+4", "-4"]  # in arrival order


async def test_per_host_concurrency_is_the_bound() -> None:
    politeness = HostPoliteness(per_host=2)
    log: list[str] = []
    await asyncio.gather(*(hold(politeness, f"https://example.com/{i}", log, str(i)) for i in range(6)))
    assert most_at_once(log) == 2


async def test_hosts_do_not_wait_for_each_other() -> None:
    politeness = HostPoliteness(per_host=1)
    log: list[str] = []
    slow_entered = asyncio.Event()
    fast_entered = asyncio.Event()

    async def slow_request() -> None:
        async with politeness.slot("https://slow.example/"):
            log.append("+slow")
            slow_entered.set()
            # Hold the slot until fast.example got in, but only for so many turns of the loop:
            # were hosts to wait for each other, this gives up and the order below shows it.
            for _ in range(100):
                if fast_entered.is_set():
                    break
                await asyncio.sleep(0)
            log.append("-slow")

    async def fast_request() -> None:
        await slow_entered.wait()
        async with politeness.slot("https://fast.example/"):
            log.append("+fast")
            fast_entered.set()
        log.append("-fast")

    await asyncio.gather(slow_request(), fast_request())
    assert log == ["+slow", "+fast", "-fast", "-slow"]  # in and out while slow.example's only slot was taken


async def test_the_delay_spaces_request_starts() -> None:
    time = FakeTime()
    politeness = HostPoliteness(per_host=1, delay_s=3, clock=time.clock, sleep=time.sleep)
    for i in range(3):
        async with politeness.slot(f"https://example.com/{i}"):
            pass
    assert time.sleeps == [3, 3]  # none before the first


async def test_crawl_delay_wins_when_longer() -> None:
    time = FakeTime()
    politeness = HostPoliteness(per_host=1, delay_s=1, clock=time.clock, sleep=time.sleep)
    for _ in range(2):
        async with politeness.slot("https://example.com/", crawl_delay=10):
            pass
    async with politeness.slot("https://example.com/", crawl_delay=0.5):
        pass
    assert time.sleeps == [10, 10]  # the third waits out the gap the second reserved


async def test_concurrent_callers_queue_one_gap_apart() -> None:
    time = FakeTime()
    politeness = HostPoliteness(per_host=4, delay_s=2, clock=time.clock, sleep=time.sleep)
    log: list[str] = []
    await asyncio.gather(*(hold(politeness, f"https://example.com/{i}", log, str(i)) for i in range(4)))
    assert time.sleeps == [2, 2, 2]
    assert [entry for entry in log if entry.startswith("+")] == ["+0", "+1", "+2", "+3"]


async def test_no_wait_once_the_gap_is_over() -> None:
    time = FakeTime()
    politeness = HostPoliteness(per_host=1, delay_s=3, clock=time.clock, sleep=time.sleep)
    async with politeness.slot("https://example.com/a"):
        pass
    time.now += 60  # a long fetch elsewhere
    async with politeness.slot("https://example.com/b"):
        pass
    async with politeness.slot("https://other.example/"):
        pass
    assert time.sleeps == []


async def test_a_cancelled_waiter_frees_nothing_it_did_not_take() -> None:
    politeness = HostPoliteness(per_host=1)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def holder() -> None:
        async with politeness.slot("https://example.com/"):
            entered.set()
            await release.wait()

    first = asyncio.create_task(holder())
    await entered.wait()
    waiter = asyncio.create_task(hold(politeness, "https://example.com/x", [], "w"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await first
    log: list[str] = []
    await asyncio.gather(*(hold(politeness, "https://example.com/y", log, str(i)) for i in range(3)))
    assert most_at_once(log) == 1


async def test_real_sleep_keeps_arrival_order() -> None:
    politeness = HostPoliteness(per_host=2, delay_s=0.01)
    log: list[str] = []
    await asyncio.gather(*(hold(politeness, "https://example.com/", log, str(i)) for i in range(4)))
    assert [entry for entry in log if entry.startswith("+")] == ["+0", "+1", "+2", "+3"]


@pytest.mark.parametrize(("per_host", "delay_s"), [(0, 0.0), (1, -1.0)])
def test_nonsense_settings_are_refused(per_host: int, delay_s: float) -> None:
    with pytest.raises(ValueError):
        HostPoliteness(per_host=per_host, delay_s=delay_s)

"""A pickle planted in Redis is never executed by a worker.

Whoever can write to Redis must not be able to run code in a worker: arq's
default serializer is pickle, ours is JSON. These payloads would create a
marker file the moment anything unpickled them.
"""

from __future__ import annotations

import os
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest

from jobs.settings import Settings
from streams.keys import Keyspace
from tests.support.stack import running_stack

from .outcome import completion


class Planted:
    """Unpickling this calls `function(*args)`: the classic pickle exploit."""

    def __init__(self, function: Any, *args: Any) -> None:
        self.function = function
        self.args = args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.function, self.args


def exploits(marker_dir: Path) -> dict[str, bytes]:
    """Pickles that each create `marker_dir/<name>` when loaded, in every protocol."""
    made = {}
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        for name, planted in {
            "open": Planted(open, str(marker_dir / f"open-{protocol}"), "w"),
            "system": Planted(os.system, f"touch {marker_dir / f'system-{protocol}'}"),
            "exec": Planted(exec, f"open({str(marker_dir / f'exec-{protocol}')!r}, 'w').close()"),
        }.items():
            made[f"{name}-{protocol}"] = pickle.dumps(planted, protocol=protocol)
    return made


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """Without this, a payload that does nothing would make the next test pass for nothing."""
    for name, payload in exploits(tmp_path).items():
        loaded = pickle.loads(payload)  # the very thing a worker must never do
        if hasattr(loaded, "close"):
            loaded.close()  # the file `open` returned
        assert (tmp_path / name).exists(), name


async def test_a_planted_pickle_job_is_thrown_out_unexecuted(
    settings: Settings, site: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # One job at a time, in queue order: the planted jobs (oldest scores) are
    # looked at, and finished with, before the job submitted after them.
    one_at_a_time = settings.model_copy(update={"worker_concurrency": 1})
    markers = tmp_path / "markers"
    markers.mkdir()
    async with running_stack(one_at_a_time) as stack:
        keys = Keyspace(one_at_a_time.key_prefix)
        planted = {uuid.uuid4().hex: payload for payload in exploits(markers).values()}
        async with stack.state.redis.pipeline(transaction=True) as pipe:
            for n, (job_id, payload) in enumerate(planted.items()):
                pipe.set(keys.arq_job(job_id), payload, ex=600)
                pipe.zadd(keys.arq_queue(), {job_id: 1 + n})  # due since 1970: first in line
            await pipe.execute()

        summary, _document = await completion(stack, f"{site}/plain")

        assert summary["title"] == "Plain page"
        assert sorted(os.listdir(markers)) == []  # nothing ran
        # The worker did look at every one of them, and dropped it from the queue.
        for job_id in planted:
            assert await stack.state.redis.zscore(keys.arq_queue(), job_id) is None
            assert await stack.state.redis.exists(keys.arq_job(job_id)) == 0
        assert sum("deserializing job" in r.getMessage() for r in caplog.records) == len(planted)

        # And it still serves.
        summary, _document = await completion(stack, f"{site}/plain")
        assert summary["title"] == "Plain page"
    assert sorted(os.listdir(markers)) == []

"""arq job payloads as JSON, never pickle.

Whoever can write to Redis must not be able to run code in a worker: a pickle
payload planted in `arq:job:<id>` fails to deserialize here and the job fails;
nothing in it is ever executed.
"""

from __future__ import annotations

from typing import Any

import orjson


def serialize_job(obj: Any) -> bytes:
    # arq also serializes results and, when a job fails, the exception: those
    # become their text (we keep results ourselves, arq's copy is never read).
    return orjson.dumps(obj, default=repr)


def deserialize_job(raw: bytes) -> Any:
    return orjson.loads(raw)

"""schemathesis hooks (SCHEMATHESIS_HOOKS): how to make a value of our named formats.

`run_at` is declared `format: scheduled-date-time` (a date-time at most 30 days
ahead, which no JSON Schema keyword can say); schemathesis generates such values
from this strategy when it needs valid data, and anything else when it needs invalid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis import strategies as st

from jobs.models import MAX_DELAY_S
from service.openapi import SCHEDULED_DATE_TIME

# From a day ago (starts at once) to a minute short of the limit (the request takes a moment).
schemathesis.openapi.format(SCHEDULED_DATE_TIME, st.integers(-86_400, MAX_DELAY_S - 60).map(
    lambda offset_s: (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")))

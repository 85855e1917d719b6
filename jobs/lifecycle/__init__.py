"""A job from submit to its end: submit, each attempt, retries, cancel, re-run, idempotency, the result cache."""

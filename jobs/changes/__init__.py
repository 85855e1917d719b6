"""Change tracking: a page compared with its last tracked look, for `track_changes` and schedules."""

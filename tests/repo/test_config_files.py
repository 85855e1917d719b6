"""The files a user reads to configure the service say what the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from jobs.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            listed[match.group(1)] = number
    expected = {name.upper() for name in Settings.model_fields}
    assert set(listed) == expected
    for name, number in listed.items():
        # A comment right above each setting, or above the group it belongs to.
        above = [line for line in lines[max(0, number - 4):number] if line.startswith("#")]
        assert above, f"{name} has no comment"


def test_readme_settings_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in section, f"README's settings table lacks {name.upper()}"


def test_procfile_has_exactly_web_and_worker() -> None:
    entries = [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert entries == ["web", "worker"]
    web = (ROOT / "Procfile").read_text().splitlines()[0]
    assert "$PORT" in web and "uvicorn" in web

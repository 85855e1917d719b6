"""The files a user reads to configure the service say what the code reads."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

from honcho.environ import parse_procfile

from jobs.queue.kinds import JOB_KINDS
from jobs.settings import Settings
from service.cli import build_parser
from service.settings import WebSettings

ROOT = Path(__file__).resolve().parent.parent.parent
# The worker's settings, and the web's, which add what only HTTP serving reads.
SETTINGS = sorted(set(Settings.model_fields) | set(WebSettings.model_fields))
WEB_ONLY = sorted(set(WebSettings.model_fields) - set(Settings.model_fields))


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            listed[match.group(1)] = number
    expected = {name.upper() for name in SETTINGS}
    assert set(listed) == expected
    for name, number in listed.items():
        # A comment right above each setting, or above the group it belongs to.
        above = [line for line in lines[max(0, number - 4):number] if line.startswith("#")]
        assert above, f"{name} has no comment"


def test_readme_settings_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    for name in SETTINGS:
        assert f"`{name.upper()}`" in section, f"README's settings table lacks {name.upper()}"


def is_settings(node: ast.expr) -> bool:
    """`settings`, or `<anything>.settings` (`self.settings`, `state.settings`)."""
    if isinstance(node, ast.Name):
        return node.id == "settings"
    return isinstance(node, ast.Attribute) and node.attr == "settings"


def test_the_web_settings_are_read_by_the_web_alone() -> None:
    """A setting `jobs/` or `streams/` reads belongs in `jobs.settings.Settings`, where a worker gets it."""
    assert WEB_ONLY, "service.settings.WebSettings adds nothing"
    wrong = []
    for package in ("jobs", "streams"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Attribute) and node.attr in WEB_ONLY):
                    continue
                if is_settings(node.value):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} reads settings.{node.attr}")
    assert wrong == []


def test_procfile_has_exactly_web_and_worker() -> None:
    text = (ROOT / "Procfile").read_text()
    entries = [line.split(":", 1)[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert entries == ["web", "worker"]
    assert list(parse_procfile(text).processes) == ["web", "worker"]  # as honcho (and a PaaS) reads it
    web = text.splitlines()[0]
    assert "$PORT" in web and "uvicorn" in web


def test_procfile_documents_a_second_worker_type_whose_kinds_the_worker_takes() -> None:
    """The commented `crawler:` line, and the `worker:` line it suggests beside it, are valid commands."""
    text = (ROOT / "Procfile").read_text()
    second = next(line for line in text.splitlines() if line.startswith("# crawler: "))
    suggested = re.search(r"`worker: (scrapestream worker [^`]+)`", text)
    assert suggested is not None
    kinds: list[str] = []
    for command in (second.removeprefix("# crawler: "), suggested.group(1)):
        program, *argv = shlex.split(command)
        assert program == "scrapestream"
        kinds += build_parser().parse_args(argv).kinds
    assert sorted(kinds) == sorted(JOB_KINDS)  # the two pools together take every kind

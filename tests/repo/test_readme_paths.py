"""Every test, bench script and module README points at is there: a renamed file can't leave a dead reference."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_file_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"\b((?:tests|bench|service|jobs|streams)/[\w/]+\.py)\b", readme))
    assert named, "README names no file at all: the pattern above is out of date"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"README names files that are not in the tree: {missing}"

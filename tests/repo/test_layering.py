"""Arrows only point down: service → jobs → streams."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FORBIDDEN = {"streams": {"jobs", "service"}, "jobs": {"service"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_package_imports_one_above_it() -> None:
    wrong = []
    for package, above in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in imported_packages(path) & above:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_sdk_imports_no_server_parts() -> None:
    for path in (ROOT / "service" / "client").rglob("*.py"):
        assert not imported_packages(path) & {"starlette", "arq", "uvicorn", "redis"}, path

"""README's Layout section is the map a newcomer reads first: it lists the tree file for file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("service", "jobs", "streams")


def tree_entries() -> set[str]:
    """Every module and every folder of the three packages, as paths relative to the repo."""
    found: set[str] = set()
    for top in PACKAGES:
        found.add(f"{top}/")
        for path in (ROOT / top).rglob("*"):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            if path.is_dir():
                found.add(f"{relative}/")
            elif path.suffix == ".py" and path.name != "__init__.py":
                found.add(relative)
    return found


def layout_entries() -> set[str]:
    """The paths README's Layout block names: folders by their whole path, modules under the folder above
    them (two spaces of indentation a level)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    listed: set[str] = set()
    parents: list[str] = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^( *)(\S+)", line)
        if not match or not (match.group(2).endswith("/") or match.group(2).endswith(".py")):
            continue
        depth = len(match.group(1)) // 2
        name = match.group(2)
        del parents[depth:]
        # A folder is written whole (`jobs/fetch/transports/`); a module by its name in its folder.
        path = name if name.endswith("/") else "".join(parents[-1:]) + name
        if name.endswith("/"):
            parents.append(name)
        listed.add(path)
    return listed


def test_layout_lists_every_module_and_folder() -> None:
    missing = sorted(tree_entries() - layout_entries())
    assert not missing, f"README's Layout does not list: {missing}"


def test_layout_lists_nothing_that_is_not_there() -> None:
    stale = sorted(entry for entry in layout_entries() - tree_entries() if entry.split("/")[0] in PACKAGES)
    assert not stale, f"README's Layout lists what the tree does not have: {stale}"

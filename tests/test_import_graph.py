"""The import graph read from the source with ``ast``: shared modules never import a
role, and no module imports itself back through others when it loads."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pseudonymise", "linkage", "sdc", "tre_export", "trelink")
ROLES = frozenset({"pseudonymise", "linkage", "sdc", "tre_export"})
# Above the roles: the umbrella command line and the demo that drives every role.
ABOVE_ROLES = ("trelink.cli", "trelink.__main__", "trelink.demo")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, modules: dict[str, Path], *, at_load: bool) -> set[str]:
    """Modules of the tree ``path`` imports: at load time only (module level, outside
    ``if TYPE_CHECKING``), or anywhere (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if at_load:
        nodes: list[ast.AST] = [node for node in tree.body if not _is_type_checking(node)]
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in modules}


def test_shared_modules_import_no_role() -> None:
    modules = _modules()
    upward = {
        name: sorted(
            found
            for found in _imports(path, modules, at_load=False)
            if found.split(".")[0] in ROLES
        )
        for name, path in modules.items()
        if name.split(".")[0] == "trelink" and not name.startswith(ABOVE_ROLES)
    }
    assert {name: found for name, found in upward.items() if found} == {}


def test_roles_share_machinery_through_trelink_not_through_each_other() -> None:
    """A role imports another only where data flows that way: the export checks re-run
    the disclosure rules on the outputs (tre_export -> sdc). Keys, packages, sealed
    files and SQL quoting come from ``trelink``."""
    allowed = {("tre_export", "sdc")}
    modules = _modules()
    crossing = sorted(
        (name, found)
        for name, path in modules.items()
        if name.split(".")[0] in ROLES
        for found in _imports(path, modules, at_load=False)
        if found.split(".")[0] in ROLES
        and found.split(".")[0] != name.split(".")[0]
        and (name.split(".")[0], found.split(".")[0]) not in allowed
    )
    assert crossing == []


def test_the_trust_layer_imports_only_the_trust_layer_and_trelink_basics() -> None:
    modules = _modules()
    allowed = {"trelink.errors", "trelink.atomic"}
    for name, path in modules.items():
        if name.startswith("trelink.trust"):
            found = _imports(path, modules, at_load=False)
            assert {m for m in found if not m.startswith("trelink.trust")} <= allowed, name


def test_no_import_cycle_at_load_time() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules, at_load=True) for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 finished

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for following in sorted(graph[name]):
            if state.get(following) == 1:
                cycles.append([*path[path.index(following) :], following])
            elif following not in state:
                visit(following, [*path, following])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []

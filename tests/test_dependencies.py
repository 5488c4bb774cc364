"""Each runtime dependency in ``pyproject.toml`` is used by trelink's own code.

A dependency counts as used when a module of the installed packages imports it
(``import x``, ``from x import``, or ``import_module("x. ...")``). Two are needed only
through Starlette and are listed with the reason; ``jellyfish`` and ``recordlinkage``
serve tests and benchmarks alone, so they belong to the ``dev`` extra.
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trelink", "pseudonymise", "linkage", "sdc", "tre_export")
# Needed by a dependency for features trelink uses, never imported by trelink itself.
THROUGH_ANOTHER = {
    "python-multipart": "Starlette parses the web app's form posts with it",
    "itsdangerous": "Starlette's SessionMiddleware signs the web app's session cookie with it",
}


def _declared(group: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = (
        project["dependencies"] if group is None else project["optional-dependencies"][group]
    )
    return {re.split(r"[<>=!~\[ ;]", requirement)[0].lower() for requirement in requirements}


def _imported_top_level_names() -> set[str]:
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
                elif (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "import_module"
                    and node.args
                    and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
                ):
                    first = node.args[0]
                    text = (
                        first.value
                        if isinstance(first, ast.Constant)
                        else getattr(first.values[0], "value", "")
                    )
                    names.add(str(text).split(".")[0])
    return names


def test_every_runtime_dependency_is_imported() -> None:
    distributions = packages_distributions()
    used = {
        distribution.lower()
        for name in _imported_top_level_names()
        for distribution in distributions.get(name, [])
    }
    unused = _declared() - used - set(THROUGH_ANOTHER)
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_test_only_libraries_are_dev_dependencies() -> None:
    assert not {"jellyfish", "recordlinkage", "scikit-learn"} & _declared()
    assert {"jellyfish", "recordlinkage"} <= _declared("dev")
    # The web app is Starlette; fastapi was declared once and never imported.
    assert "fastapi" not in _declared() | _declared("dev")

"""Lazy package exports: a package's public names are imported on first use.

Each role package lists its public names in ``__all__`` and imports them only for
type checkers; at run time its ``__getattr__`` and ``__dir__`` come from
``lazy_module_hooks``, so
``import sdc`` (which every ``sdc.*`` import runs first) no longer loads the solver,
pandas and the rest until a name is used. ``trelink <command> --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_attribute", "lazy_module_hooks"]


def lazy_attribute(package: str, exports: Mapping[str, str], name: str) -> object:
    """The public ``name`` of ``package`` (from the module ``exports`` maps it to), or
    a submodule of that name; ``AttributeError`` otherwise, as for any module."""
    module_name = exports.get(name)
    if module_name is not None:
        return getattr(importlib.import_module(module_name), name)
    if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
        return importlib.import_module(f"{package}.{name}")
    raise AttributeError(f"module {package!r} has no attribute {name!r}")


def lazy_module_hooks(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of a package with lazy exports:

        __getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)

    ``__dir__`` lists what the module holds so far and every name in its ``__all__``.
    """

    def module_getattr(name: str) -> object:
        return lazy_attribute(package, exports, name)

    def module_dir() -> list[str]:
        module = sys.modules[package]
        return sorted(set(vars(module)) | set(getattr(module, "__all__", ())))

    return module_getattr, module_dir

"""Build hook for the wheel; everything else is declared in pyproject.toml.

The YAML contracts stay in the repository's top-level ``specs/`` (beside the role
packages, apart from the Python that reads them). A wheel has no place outside its
packages, so building copies them into the package as ``trelink/specs/shipped/``,
where ``trelink.specs.loader`` looks first (``tests/test_wheel.py`` checks both).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

_SPECS = Path(__file__).resolve().parent / "specs"


class _BuildWithSpecs(build_py):
    """``build_py`` that also copies every YAML file under ``specs/`` into the package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib, "trelink", "specs", "shipped")
        for source in sorted(_SPECS.rglob("*.yaml")):
            destination = target / source.relative_to(_SPECS)
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": _BuildWithSpecs})

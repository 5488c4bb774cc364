"""Declarative contracts of trelink: dataset schemas, match keys, linkage jobs, SDC policies.

The YAML files live beside this module; ``load_spec`` parses one into a frozen pydantic
model, reporting every problem in the file at once with its file and key path.
"""

from trelink.specs.loader import (
    SPECS_DIR,
    SpecError,
    SpecModel,
    load_spec,
    spec_path,
    validate_spec,
)

__all__ = ["SPECS_DIR", "SpecError", "SpecModel", "load_spec", "spec_path", "validate_spec"]

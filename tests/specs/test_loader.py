from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import field_validator

from trelink.specs import SpecError, SpecModel, load_spec


class ToySpec(SpecModel):
    name: str
    threshold: int

    @field_validator("threshold")
    @classmethod
    def positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be positive")
        return value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_spec_loads_frozen(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "version: 1\nname: a\nthreshold: 3\n"), ToySpec)
    assert spec.threshold == 3
    with pytest.raises(ValueError):
        spec.threshold = 4  # type: ignore[misc]


def test_every_problem_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nthreshold: -1\nextra: x\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, ToySpec)
    message = str(caught.value)
    assert str(path) in message
    assert len(caught.value.problems) == 3
    assert "name: Field required" in message
    assert "threshold: Value error, must be positive" in message
    assert "extra: Extra inputs are not permitted" in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"line \d+, column \d+"):
        load_spec(write(tmp_path, "version: 1\nname: [unclosed\nthreshold: 1\n"), ToySpec)


def test_unknown_version_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="version 7 is not supported"):
        load_spec(write(tmp_path, "version: 7\nname: a\nthreshold: 1\n"), ToySpec)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "absent.yaml", ToySpec)

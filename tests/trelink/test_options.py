"""The option parsers the commands share: comma-separated names and DATASET=KEY pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from trelink.errors import TrelinkError
from trelink.options import comma_separated, dataset_key_paths


class _Refused(TrelinkError):
    pass


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (None, None),
        ("", None),
        ("nrm", ["nrm"]),
        (" nrm , npd,", ["nrm", "npd"]),
        (" , ", []),
    ],
)
def test_comma_separated(text: str | None, names: list[str] | None) -> None:
    assert comma_separated(text) == names


def test_dataset_key_paths_reads_each_pair() -> None:
    paths = dataset_key_paths(["nrm=keys/ho.public.pem", "npd=dfe=1.pem"], refuse=_Refused)
    assert paths == {"nrm": Path("keys/ho.public.pem"), "npd": Path("dfe=1.pem")}


@pytest.mark.parametrize("value", ["nrm", "=ho.pem", "nrm=", ""])
def test_dataset_key_paths_refuses_with_the_commands_error(value: str) -> None:
    with pytest.raises(_Refused, match=r"--owner .*: write DATASET=PUBLIC_KEY"):
        dataset_key_paths(["npd=dfe.pem", value], refuse=_Refused)

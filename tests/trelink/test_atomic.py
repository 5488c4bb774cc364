from __future__ import annotations

from pathlib import Path

import pytest

from trelink import atomic_directory, atomic_file


def test_atomic_file_keeps_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_file_sets_mode_before_rename(tmp_path: Path) -> None:
    target = tmp_path / "key"
    with atomic_file(target, mode=0o600) as temporary:
        temporary.write_bytes(b"k")
    assert target.stat().st_mode & 0o777 == 0o600


def test_atomic_directory_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "result"
    with pytest.raises(RuntimeError), atomic_directory(target) as temporary:
        (temporary / "a.parquet").write_text("x")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_refuses_non_empty_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "result"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(FileExistsError), atomic_directory(target):
        pass
    with atomic_directory(target, overwrite=True) as temporary:
        (temporary / "new").write_text("y")
    assert [p.name for p in target.iterdir()] == ["new"]

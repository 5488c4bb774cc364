"""Small wide CSV tables in the layout ``trelink sdc protect`` writes (synthetic counts).

``SAFE_BY_SEX_AGE`` and ``SAFE_BY_REGION_AGE`` each pass ``sdc check`` alone, but
together a suppressed cell is recovered exactly (North, female, old = 29 - 14 = 15):
the differencing the request-wide audit must catch.
"""

from __future__ import annotations

from pathlib import Path

_SEX_AGE_HEADER = ",".join(
    ["region"]
    + [f"sex: {sex} | age: {age}" for sex in "FM" for age in ("old", "young", "Total")]
    + ["Total"]
)
SAFE_BY_SEX_AGE = (
    _SEX_AGE_HEADER
    + """
North,,,18,14,12,26,44
South,,,34,25,13,38,72
Total,35,17,52,39,25,64,116
"""
)

SAFE_BY_REGION_AGE = """\
region,age,sex: F,sex: M,Total
North,old,,,29
North,young,,,15
North,Total,18,26,44
South,old,20,25,45
South,young,14,13,27
South,Total,34,38,72
Total,Total,52,64,116
"""

UNSAFE_RAW = """\
region,sex: F,sex: M,Total
North,3,14,17
South,22,18,40
Total,25,32,57
"""

# A tiny valid PNG (1 x 1 pixel).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path

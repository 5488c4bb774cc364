"""``release.html``: an offline page of what left the TRE, written beside the released
files by ``trelink export release`` (and by ``trelink export release-page`` for any
outbox): each table with its suppressed cells marked, figures, text, models' coefficients,
who approved each output and when, what was withheld, and the audit log's head hash
after the release (the release entry's SHA-256, to check with ``audit --expect-entry``).

Everything comes from the outbox itself (``manifest.json`` and the released files), so
the page can be made for any request, and it shows nothing that did not leave: no
decision record, no interval, no primary/secondary label (which would tell a reader
which hidden cells were small). The page is one self-contained file: styles inline,
figures embedded as data URIs, no script, no request to anything.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from tre_export.dates import readable_time
from tre_export.errors import ReleaseError
from tre_export.table_view import RenderedTable, render_table
from trelink.atomic import atomic_file

__all__ = ["RELEASE_PAGE", "write_release_page"]

RELEASE_PAGE = "release.html"
_HERE = Path(__file__).resolve().parent
_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
_MAX_EMBEDDED = 8 << 20  # figures larger than this are linked, not embedded
_MAX_TEXT = 200_000


@dataclass(frozen=True)
class _ReleasedOutput:
    name: str
    kind: str
    description: str
    sha256: str
    check: str
    approvals: list[dict[str, str]]  # name, key id, readable time
    table: RenderedTable | None
    image: str | None  # data URI
    text: str | None
    model: dict[str, Any] | None


def _read_manifest(outbox: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((outbox / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ReleaseError(
            f"{outbox}: no readable manifest.json; give an outbox written by "
            "`trelink export release`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("outputs"), list):
        raise ReleaseError(f"{outbox}/manifest.json: not a release manifest")
    return manifest


def _released_output(outbox: Path, entry: dict[str, Any]) -> _ReleasedOutput:
    name = str(entry["name"])
    path = outbox / Path(name).name  # names in a manifest are plain file names
    kind = str(entry.get("kind", ""))
    suffix = path.suffix.lower()
    table = render_table(path, {}) if kind == "table" else None
    image = None
    if suffix in _IMAGES and path.is_file() and path.stat().st_size <= _MAX_EMBEDDED:
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        image = f"data:{_IMAGES[suffix]};base64,{encoded}"
    text = None
    model = None
    if kind == "model":
        model = _model(path)
    if table is None and image is None and model is None and suffix not in _IMAGES:
        try:
            text = path.read_text(encoding="utf-8")[:_MAX_TEXT]
        except (OSError, UnicodeDecodeError):
            text = None
    return _ReleasedOutput(
        name=name,
        kind=kind,
        description=str(entry.get("description", "")),
        sha256=str(entry.get("sha256", "")),
        check=str(entry.get("automated_check", "")),
        approvals=[
            {
                "name": str(approval.get("name", "")),
                "key_id": str(approval.get("key_id", "")),
                "time": readable_time(str(approval.get("time", ""))),
            }
            for approval in entry.get("approved_by", [])
            if isinstance(approval, dict)
        ],
        table=table,
        image=image,
        text=text,
        model=model,
    )


def _model(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        parameters = [
            {
                "term": str(item["term"]),
                "coefficient": _number(item["coefficient"]),
                "std_error": _number(item["std_error"]),
                "p_value": _number(item["p_value"]),
            }
            for item in document["parameters"]
        ]
        return {
            "formula": str(document["formula"]),
            "kind": str(document["kind"]),
            "parameters": parameters,
            "observations": int(document["observations"]),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


def write_release_page(outbox: str | os.PathLike[str]) -> Path:
    """Write ``release.html`` into ``outbox`` from its manifest and released files."""
    root = Path(outbox)
    manifest = _read_manifest(root)
    try:
        outputs = [_released_output(root, entry) for entry in manifest["outputs"]]
    except (KeyError, TypeError):
        raise ReleaseError(f"{root}/manifest.json: an output entry is malformed") from None
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    audit_log = manifest.get("audit_log", {})
    page = environment.get_template(RELEASE_PAGE).render(
        project=str(manifest.get("project", "")),
        request=str(manifest.get("request", "")),
        title=str(manifest.get("title", "")),
        released_by=str(manifest.get("released_by", "")),
        released_at=readable_time(str(manifest.get("released_at", ""))),
        required=manifest.get("required_approvals", ""),
        outputs=outputs,
        withheld=[str(name) for name in manifest.get("withheld", [])],
        head=str(audit_log.get("release_entry_sha256", "")),
        head_seq=audit_log.get("release_entry_seq", ""),
    )
    target = root / RELEASE_PAGE
    with atomic_file(target) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return target

"""Where a command writes: results on stdout, everything else on stderr, never cut.

stdout carries only what a script would read (a command's results, or its ``--json``
document); progress, notes and warnings go to stderr. On a terminal Rich fits lines to
the window; piped or redirected, Rich would wrap or cut them at 80 columns, so there a
console is as wide as its longest line. Progress bars and spinners draw only on a
terminal, so logs get no half-drawn spinner lines.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn

__all__ = ["note_console", "print_json", "progress", "result_console"]

# Wide enough for any line a command prints; Rich renders tables at their natural width
# (none asks to expand), so this bounds nothing in practice.
_PIPED_WIDTH = 100_000


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = _PIPED_WIDTH
    return console


def result_console(*, to_stderr: bool = False) -> Console:
    """The console for a command's results: stdout (stderr when ``--json`` owns stdout)."""
    return _console(stderr=to_stderr)


def note_console() -> Console:
    """The console for progress, notes and warnings: stderr."""
    return _console(stderr=True)


def progress(*columns: str | ProgressColumn, transient: bool = True) -> Progress:
    """A progress display on stderr that draws only on a terminal."""
    console = note_console()
    return Progress(*columns, console=console, transient=transient, disable=not console.is_terminal)


def print_json(document: Any) -> None:
    """Write ``document`` to stdout as one JSON document (UTF-8, one trailing newline)."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()

"""Progress display for long solves: on stderr, and only on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

__all__ = ["progress_bar"]


def progress_bar(*, show: bool) -> Progress:
    """A transient progress bar that keeps stdout clean for results and pipes."""
    console = Console(stderr=True)
    return Progress(console=console, transient=True, disable=not (show and console.is_terminal))

"""Errors the synthetic-data generator raises deliberately.

Exception tree::

    TrelinkError
    └── SynthError    the generator was asked for something impossible (bad scale,
                      seed, overlap or output directory)
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = ["SynthError"]


class SynthError(TrelinkError):
    """The generator was asked for something it cannot produce."""

"""The demonstration's root error.

Exception tree::

    trelink.errors.TrelinkError
    └── DemoError        the demo cannot start (a non-empty --out without --overwrite, a bad
                         --scale) or a step produced something the next step cannot use

Errors raised by the role packages the demo calls pass through unchanged, so their
messages (file, row, column) reach the user as the role's own command would show them.
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = ["DemoError"]


class DemoError(TrelinkError):
    """The demonstration was asked for something impossible or a step's output is unusable."""

"""Shared test configuration."""

from __future__ import annotations

import os

from hypothesis import settings

# CI draws the same examples on every run, so a red build always means a change broke
# something; local runs draw new ones and keep finding cases.
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

"""The end-to-end demonstration: every role played in order on synthetic data.

``run_demo(out, scale=..., seed=..., force=...)`` is what ``trelink demo`` runs;
``research_outputs`` builds the research's tables and models from the TRE's frames;
``write_summary(outbox, path)`` renders the offline summary of a released outbox.
"""

from demo.analyses import ModelRequest, ResearchFrames, TableRequest, research_outputs
from demo.errors import DemoError
from demo.layout import DemoLayout
from demo.pipeline import DEFAULT_SCALE, DemoResult, run_demo
from demo.summary import write_summary

__all__ = [
    "DEFAULT_SCALE",
    "DemoError",
    "DemoLayout",
    "DemoResult",
    "ModelRequest",
    "ResearchFrames",
    "TableRequest",
    "research_outputs",
    "run_demo",
    "write_summary",
]

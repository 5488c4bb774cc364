"""The end-to-end demonstration: every role played in order on synthetic data.

``run_demo(out, scale=..., seed=..., force=...)`` is what ``trelink demo`` runs;
``research_outputs`` builds the research's tables and models from the TRE's frames;
``write_summary(outbox, path)`` renders the offline summary of a released outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
    from trelink.demo.analyses import ModelRequest, ResearchFrames, TableRequest, research_outputs
    from trelink.demo.errors import DemoError
    from trelink.demo.layout import DemoLayout
    from trelink.demo.pipeline import DEFAULT_SCALE, DemoResult, run_demo
    from trelink.demo.summary import write_summary

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

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "DEFAULT_SCALE": "trelink.demo.pipeline",
    "DemoError": "trelink.demo.errors",
    "DemoLayout": "trelink.demo.layout",
    "DemoResult": "trelink.demo.pipeline",
    "ModelRequest": "trelink.demo.analyses",
    "ResearchFrames": "trelink.demo.analyses",
    "TableRequest": "trelink.demo.analyses",
    "research_outputs": "trelink.demo.analyses",
    "run_demo": "trelink.demo.pipeline",
    "write_summary": "trelink.demo.summary",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)

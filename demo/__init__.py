"""The end-to-end demonstration: every role played in order on synthetic data.

``run_demo(out, scale=..., seed=..., force=...)`` is what ``trelink demo`` runs;
``research_outputs`` builds the research's tables and models from the TRE's frames;
``write_summary(outbox, path)`` renders the offline summary of a released outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trelink.lazy import lazy_module_hooks

if TYPE_CHECKING:
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

# Public name -> the module that defines it, imported on first use (trelink.lazy).
_EXPORTS: dict[str, str] = {
    "DEFAULT_SCALE": "demo.pipeline",
    "DemoError": "demo.errors",
    "DemoLayout": "demo.layout",
    "DemoResult": "demo.pipeline",
    "ModelRequest": "demo.analyses",
    "ResearchFrames": "demo.analyses",
    "TableRequest": "demo.analyses",
    "research_outputs": "demo.analyses",
    "run_demo": "demo.pipeline",
    "write_summary": "demo.summary",
}


__getattr__, __dir__ = lazy_module_hooks(__name__, _EXPORTS)

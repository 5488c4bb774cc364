"""The root of every error trelink raises on purpose.

Exception tree (each role package documents its own branch in its ``errors.py``)::

    TrelinkError
    ├── specs.SpecError                 a YAML spec failed to load or validate
    ├── synth.SynthError                the generator was asked for something impossible
    ├── pseudonymise.PseudonymiseError  preparing, tokenising, keys, packages
    ├── linkage.LinkageError            import, linkage jobs, reports
    ├── sdc.SdcError                    disclosure-control policies, tables, audits
    └── tre_export.ExportError          export areas, requests, reviews, releases

The command line turns any ``TrelinkError`` into a one-paragraph message on stderr and
exit status 3, "refused input" (``trelink.exit_codes``). Messages name the file, row,
column or key at fault and say how to fix it; they never contain an identifier value, a
key or a token.
"""

__all__ = ["TrelinkError"]


class TrelinkError(Exception):
    """Base class for every error trelink raises deliberately."""

"""Errors raised by the TRE side: importing packages, linkage jobs and reports.

Exception tree::

    trelink.errors.TrelinkError
    └── LinkageError                 any problem the TRE researcher must fix
        ├── ImportPackageError       a package failed verification or loading (``trelink import``)
        ├── JobSpecError             a linkage job spec names unknown datasets, columns or options
        │   └── JobParameterError    a job parameter set in code or on the command line is
        │                            invalid (``parameter`` names it; the CLI names the flag)
        ├── InputTableError          an identity table is empty or lacks the tokens the job needs
        ├── KeyMismatchError         datasets were tokenised under different linkage keys
        ├── NormalisationMismatchError
        │                            datasets were pseudonymised under different versions
        │                            of the normalisation rules (``normalisation_version``)
        ├── SparkSettingError        a Spark setting is not ``spark.KEY=VALUE`` (``problem``
        │                            says how; the CLI names ``--spark-conf``)
        └── ClericalReviewError      a review pack or clerical labels file is refused

Messages name the file, dataset, column or key path at fault and say how to fix it.
They never contain an identifier value, a token or a key.
"""

from __future__ import annotations

from trelink.errors import TrelinkError

__all__ = [
    "ClericalReviewError",
    "ImportPackageError",
    "InputTableError",
    "JobParameterError",
    "JobSpecError",
    "KeyMismatchError",
    "LinkageError",
    "NormalisationMismatchError",
    "SparkSettingError",
]


class LinkageError(TrelinkError):
    """Base class for every deliberate error of the ``linkage`` package."""


class ImportPackageError(LinkageError):
    """A transfer package failed verification, decryption or loading."""


class JobSpecError(LinkageError):
    """A linkage job spec refers to datasets, columns or options that do not exist."""


class InputTableError(LinkageError):
    """An input identity table is empty, unreadable or lacks a required token column."""


class KeyMismatchError(LinkageError):
    """Two datasets carry different linkage key ids, so their tokens cannot agree."""


class NormalisationMismatchError(LinkageError):
    """Two datasets were pseudonymised under different normalisation versions, so one
    identifier value can have a different token in each."""


class TrainingError(LinkageError):
    """The data give EM too little to estimate the model (too few candidate pairs)."""


class ClericalReviewError(LinkageError):
    """A review pack cannot be made, or a labels file is refused (signature, pack)."""


class JobParameterError(JobSpecError):
    """A job parameter set in code or on the command line is invalid.

    ``parameter`` is its name in the job (``threshold``, ``link_type``); the command
    line turns it into the flag that set it.
    """

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.problem = problem
        super().__init__(f"{parameter}: {problem}")


class SparkSettingError(LinkageError):
    """A Spark setting given to ``trelink link --spark-conf`` or ``spark_conf`` is not
    ``spark.KEY=VALUE``. ``problem`` says how; the message echoes the key, never the
    value (a setting may carry a password)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"--spark-conf {problem}")

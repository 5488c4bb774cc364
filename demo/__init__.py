"""The end-to-end demonstration: every role played in order on synthetic data."""

__all__: list[str] = []

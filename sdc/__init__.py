"""sdc package."""

__all__: list[str] = []

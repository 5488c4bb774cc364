"""linkage package."""

__all__: list[str] = []

"""tre_export package."""

__all__: list[str] = []

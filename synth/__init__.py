"""synth package."""

__all__: list[str] = []

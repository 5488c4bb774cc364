"""pseudonymise package."""

__all__: list[str] = []

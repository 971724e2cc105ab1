"""Errors raised while reading input data."""


class DataLoadError(ValueError):
    """A source file cannot be read, or cannot be mapped onto its table schema."""

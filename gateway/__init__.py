"""Cross-border health data exchange gateway."""

__version__ = "0.1.0"

"""Exceptions raised by the root-cause analysis package."""

from __future__ import annotations

from collections.abc import Iterable


class RcaError(ValueError):
    """Base class for invalid input to the root-cause analysis functions."""


class UnknownServiceError(RcaError):
    """An alert or lookup named a service that the dependency graph does not contain."""

    def __init__(self, service: str, known_services: Iterable[str], context: str = "") -> None:
        known = sorted(str(name) for name in known_services)
        shown = ", ".join(known[:30])
        if len(known) > 30:
            shown += f", ... ({len(known) - 30} more)"
        prefix = f"{context}: " if context else ""
        super().__init__(
            f"{prefix}Service {service!r} is not in the service topology. Known services: "
            f"{shown}. "
            "Check the alert's service name or add the service to the service_topology table."
        )
        self.service = service
        self.known_services = known


class LogSourceConfigError(RcaError):
    """A log source configuration is missing, malformed or names an unknown source."""

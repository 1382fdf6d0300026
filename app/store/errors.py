"""Typed errors the store raises; each carries the HTTP status it maps to.

The web answers them in the format the client asked for (an HTML page, the
form again with the message beside its field, or one fixed JSON shape); the
CLI prints the message as one line.
"""

from __future__ import annotations


class StoreError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    status = 404


class Invalid(StoreError):
    """Input that breaks a rule; ``field`` names the form field it belongs to."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(StoreError):
    """A write against a stale version: someone else changed the row first."""

    status = 409

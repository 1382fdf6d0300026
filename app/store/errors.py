"""Typed errors the store raises; each carries the HTTP status it maps to.

The web answers them in the format the client asked for (an HTML page, the
form again with the message beside its field, or one fixed JSON shape); the
CLI prints the message as one line.
"""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """An error's message for the user or a log line: a database driver's own words, not
    SQLAlchemy's wrapping of them (the statement, a link), and only their first line."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError holds the driver's error
    lines = [line for line in str(orig if isinstance(orig, BaseException) else exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


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


def no_nul(value: str, field: str) -> str:
    """``value``, refused when it holds a NUL character: PostgreSQL's text cannot store one, and
    the progress document it would be exported into could not be imported again."""
    if "\x00" in value:
        raise Invalid(f"the {field} cannot hold a NUL character", field=field)
    return value


class Conflict(StoreError):
    """A write against a stale version: someone else changed the row first."""

    status = 409


class Busy(StoreError):
    """A write that found the store busy with others, again and again: try later, nothing was written."""

    status = 503
    headers = {"Retry-After": "1"}

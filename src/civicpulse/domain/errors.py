"""Errors the rules raise; the web and CLI layers turn them into status codes and messages.

They live in the domain so that services and the state machine can say *why* something is
refused without knowing about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of all refusals; ``message`` is shown to the caller as is."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    """The input breaks a rule (missing reason, bad score, ...)."""

    status_code = 422


class InvalidTransition(DomainError):
    """The action is not allowed from the case's current state."""

    status_code = 409


class Conflict(DomainError):
    """Someone else changed the record first; reload and try again."""

    status_code = 409


class NotFound(DomainError):
    """No such record (or not one the caller may see)."""

    status_code = 404


class PermissionDenied(DomainError):
    """The caller's role or department does not allow the action."""

    status_code = 403


class NotAuthenticated(DomainError):
    """Credentials are missing or wrong."""

    status_code = 401

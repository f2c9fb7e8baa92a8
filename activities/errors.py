"""The errors our activities raise, translated at the boundary from library exceptions.

Temporal matches ``non_retryable_error_types`` on the exception's class name, so the names here
are part of the contract with ``workflows.shared.NON_RETRYABLE``.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class EdgewardActivityError(Exception):
    """Root of our activity errors."""


def permanent(message: str, *details: object) -> ApplicationError:
    """A failure that retrying cannot fix: the message says what the user must do."""
    return ApplicationError(message, *details, type="PermanentError", non_retryable=True)


def invalid_input(message: str, *details: object) -> ApplicationError:
    """Bad input (a domain, a record): non-retryable, names what to fix."""
    return ApplicationError(message, *details, type="InvalidInput", non_retryable=True)


def transient(message: str, *details: object, retry_after: float | None = None) -> ApplicationError:
    """A failure worth retrying (time-out, 5xx, bad nonce); ``retry_after`` in seconds."""
    from datetime import timedelta

    delay = timedelta(seconds=retry_after) if retry_after else None
    return ApplicationError(message, *details, type="TransientError", next_retry_delay=delay)

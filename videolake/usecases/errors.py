"""The errors of the use cases: one hierarchy, each member with its exit code and HTTP status.

An entry point turns a ``UseCaseError`` into its own form without looking inside: the CLI prints
``videolake: <message>`` on one line and exits with ``exit_code``; the HTTP API answers
``application/problem+json`` with ``http_status``, ``title`` and the message as ``detail``.
Invariants:

- The message is one sentence a tired operator can act on; it never holds a secret.
- Raising one means nothing was changed, unless the message says what was (a hold kept with a note).
- Anything else that escapes a use case is a defect or an outage: exit 1, HTTP 500.
"""

from __future__ import annotations

from typing import ClassVar

from videolake.constants import ExitCode


class UseCaseError(Exception):
    """Base of every error a use case raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "the request could not be done"


class InvalidInput(UseCaseError):
    """The input can never work as given (a time that is no time, an end before the start)."""

    exit_code = ExitCode.USAGE
    http_status = 422
    title = "invalid input"


class NotFound(UseCaseError):
    """What the input names does not exist (a video, an export, a hold, a camera)."""

    exit_code = ExitCode.USAGE
    http_status = 404
    title = "not found"


class WrongState(UseCaseError):
    """It exists, but not in a state that allows this (links of an export still running)."""

    exit_code = ExitCode.USAGE
    http_status = 409
    title = "not in a state that allows this"


class Expired(WrongState):
    """It existed and its time is over (an export past its expiry)."""

    http_status = 410
    title = "expired"


class Refused(UseCaseError):
    """Understood and checked, and refused: no footage in the range, a guardrail of retention."""

    exit_code = ExitCode.FAILED
    http_status = 422
    title = "refused"


class ConfigurationError(UseCaseError):
    """The configuration cannot work (a policy file that does not parse, an unknown storage URL)."""

    exit_code = ExitCode.USAGE
    http_status = 500
    title = "videolake is misconfigured"


class Unavailable(UseCaseError):
    """The catalog or a backend cannot be reached now; nothing was changed, retrying later may work."""

    exit_code = ExitCode.FAILED
    http_status = 503
    title = "a service videolake needs is unavailable"


class Failed(UseCaseError):
    """The work was tried and did not succeed (a run failed); the message says what is left."""

    exit_code = ExitCode.FAILED
    http_status = 500
    title = "the work failed"


class NotAuthenticated(UseCaseError):
    """No credentials, or ones that do not open anything (unknown, revoked, expired)."""

    exit_code = ExitCode.USAGE
    http_status = 401
    title = "not authenticated"


class NotAllowed(UseCaseError):
    """Known credentials that do not allow this (a read key asked to upload)."""

    exit_code = ExitCode.USAGE
    http_status = 403
    title = "not allowed"

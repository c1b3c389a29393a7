"""One error family for every layer.

Each error has a stable machine ``code``, a one-line human ``message`` that never
carries patient data (ids only), optional structured ``details`` and the HTTP
status the server answers with. The server turns them into the envelope
``{"error": {"code", "message", "details"}}``; the client turns the envelope back
into the same class, so a CLI command can catch ``NotFound`` whatever side raised it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TlhError(Exception):
    """Base of every expected error. ``str(err)`` is the one-line message."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(TlhError):
    """The request or file is malformed or breaks a rule (bad value, bad row)."""

    code = "invalid"
    status = 422


class BadRequest(TlhError):
    code = "bad_request"
    status = 400


class NotFound(TlhError):
    code = "not_found"
    status = 404


class OutOfScope(NotFound):
    """A record that exists but is not the caller's to see (another clinician's client):
    answered exactly as a missing one, and audited (``target``: its id) by the server."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.target = target


class Conflict(TlhError):
    """The change collides with existing data (double booking, duplicate id)."""

    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Unauthenticated(TlhError):
    code = "unauthenticated"
    status = 401


class Forbidden(TlhError):
    code = "forbidden"
    status = 403


class TooLarge(TlhError):
    code = "too_large"
    status = 413


class RateLimited(TlhError):
    code = "rate_limited"
    status = 429


class Unavailable(TlhError):
    """The server cannot be reached or is shutting down."""

    code = "unavailable"
    status = 503


class StoreError(TlhError):
    """The data dir is unusable: corrupt, locked by another server, wrong version."""

    code = "store"
    status = 500


class StoreLocked(StoreError):
    code = "store_locked"


class StoreCorrupt(StoreError):
    code = "store_corrupt"


class StoreKeyError(StoreError):
    """A sealed data dir (or backup) whose key is missing or wrong: nothing was read or
    written."""

    code = "store_key"


class StoreFull(StoreError):
    """The disk holding the data dir is full: the change was not stored."""

    code = "storage_full"
    status = 507


class StoreUnavailable(StoreError):
    """The shared store's database cannot be reached (for now): nothing was written,
    and the server carries on and reconnects by itself."""

    code = "store_unavailable"
    status = 503


def os_error_reason(exc: OSError) -> str:
    """A short reason for a failed file operation ("no space left on device"), without
    the file name (``strerror`` only)."""
    return (exc.strerror or type(exc).__name__).lower()


def write_failure(what: str, exc: OSError) -> StoreError:
    """The error for a store file that could not be written: ``StoreFull`` when the disk
    (or quota) is full, else ``StoreError``; ``what`` names the file for the server log."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(f"{what} could not be written: the disk is full")
    return StoreError(f"{what} could not be written: {os_error_reason(exc)}")


ERRORS_BY_CODE: dict[str, type[TlhError]] = {
    cls.code: cls
    for cls in (
        TlhError,
        InvalidInput,
        BadRequest,
        NotFound,
        Conflict,
        InvalidTransition,
        Unauthenticated,
        Forbidden,
        TooLarge,
        RateLimited,
        Unavailable,
        StoreError,
        StoreLocked,
        StoreKeyError,
        StoreCorrupt,
    )
}


#: The error family of each HTTP status, for codes without a class of their own here.
_BY_STATUS: dict[int, type[TlhError]] = {
    cls.status: cls
    for cls in (
        InvalidInput,
        BadRequest,
        NotFound,
        Conflict,
        Unauthenticated,
        Forbidden,
        TooLarge,
        RateLimited,
        Unavailable,
    )
}


def error_from_envelope(status: int, body: Any) -> TlhError:
    """Rebuild a typed error from a server's error envelope (or anything else it sent)."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        # A finer code this side does not know (e.g. ``nobody_waiting``, a NotFound
        # subclass defined by a service) still gets the family its HTTP status names.
        cls = ERRORS_BY_CODE.get(str(err.get("code"))) or _BY_STATUS.get(status, TlhError)
        return cls(err["message"], err.get("details"))
    return TlhError(f"server answered HTTP {status} without an error body")

"""Typed errors: every error zviz raises derives from ZvizError and carries a message safe to show a user."""

from __future__ import annotations


class ZvizError(Exception):
    """Base class of zviz's errors; `str(err)` is a complete sentence that says what to do."""


class EntityNotFoundError(ZvizError, KeyError):
    """An id or name that does not exist, or that the current user may not read."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class EntityExistsError(ZvizError):
    """The entity, or a value that must be unique (such as a tile's display order), already exists."""


class InvalidInputError(ZvizError, ValueError):
    """A value was refused before anything was written."""


class AccessDeniedError(ZvizError, PermissionError):
    """The current user lacks the grant that a write needs; the message names the grant."""


class ConfigError(ZvizError, ValueError):
    """A configuration file (pipeline YAML or access rules) is malformed."""


class StoreError(ZvizError):
    """The store folder or its database cannot be used."""


class StoreVersionError(StoreError):
    """The database was written by a newer zviz than this one."""


class StoreBusyError(StoreError, TimeoutError):
    """Another process held the database for longer than the lock time-out."""


class StoreCorruptError(StoreError):
    """The database file is damaged; writes are refused until it is restored or replaced."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The database server of a team store cannot be reached; nothing was written."""


class MaterializerNotFoundError(ZvizError, TypeError):
    """No materializer handles a step output's type."""


class ArtifactLoadError(ZvizError):
    """An artifact or visualization file is missing, corrupt or cannot be read."""


class ArtifactPathError(ArtifactLoadError, ValueError):
    """A file location lies outside its artifact version's folder or the artifact store."""


class ArtifactTooLargeError(ArtifactLoadError):
    """A file is larger than the caller agreed to load; `.size` is its size in bytes."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class ArtifactStoreUnreachableError(ArtifactLoadError):
    """The artifact store itself cannot be reached (credentials, endpoint, bucket)."""


class RunGoneError(ZvizError):
    """A run was deleted while its pipeline still ran; its later steps are not recorded."""


class ConflictError(ZvizError):
    """Someone else changed the thing since the caller read it; nothing was written."""


class UnboundResponseError(ZvizError, RuntimeError):
    """A response object not returned by a Client was asked to load more."""


class StepFailedError(ZvizError):
    """Raised for a run whose step failed when the original exception cannot be re-raised."""

"""The artifact store: artifact bytes and visualization files behind one fsspec URL.

A store is a root URL (a local folder or `s3://bucket/prefix`, or anything else fsspec knows).
It never holds metadata; the database never holds bytes.
"""

from __future__ import annotations

import contextlib
import copy
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from zviz_core.errors import (
    ArtifactLoadError,
    ArtifactPathError,
    ArtifactStoreUnreachableError,
    ConfigError,
)
from zviz_core.settings import settings

STORE_ENV = "ZVIZ_ARTIFACT_STORE"
SHARED_ENV = "ZVIZ_ARTIFACT_STORE_SHARED"
STEP_LOG_FILE = "logs.txt"
# Bounded waits, so an unreachable bucket fails a tile in seconds instead of hanging the page.
S3_DEFAULTS = {"connect_timeout": 3, "read_timeout": 20, "retries": {"max_attempts": 2}}


def _fsspec() -> Any:
    import fsspec

    return fsspec


# The zviz extra that installs fsspec's implementation of a scheme (s3fs is not in the core).
_EXTRA_FOR_SCHEME = {"s3": "s3", "s3a": "s3"}


def _missing_package(uri: str, exc: ImportError) -> str:
    """What to install when fsspec lacks the package for `uri`'s scheme, as a sentence."""
    scheme = _protocol(uri)
    extra = _EXTRA_FOR_SCHEME.get(scheme)
    fix = f'pip install "zviz[{extra}]"' if extra else f"install fsspec's package for {scheme}://"
    return (
        f"The artifact store at {uri} needs a package that is not installed "
        f"({exc.name or exc}): {fix}."
    )


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def storage_options_for(root: str) -> dict[str, Any]:
    """fsspec options for a store root: $ZVIZ_ARTIFACT_STORE_OPTIONS (JSON) plus bounded
    time-outs for S3. Credentials come from the environment (AWS_* variables), never the store.

    Raises ConfigError when the variable is not a JSON object.
    """
    options = copy.deepcopy(settings().ARTIFACT_STORE_OPTIONS)
    if root.startswith(("s3://", "s3a://")):
        config = options.setdefault("config_kwargs", {})
        for key, value in S3_DEFAULTS.items():
            config.setdefault(key, value)
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options.setdefault("client_kwargs", {}).setdefault("endpoint_url", endpoint)
    return options


def artifact_root(explicit: str | None, home: Path, shared_metadata: bool) -> str:
    """Where artifact files go: `explicit`, else $ZVIZ_ARTIFACT_STORE, else <home>/artifacts.

    With a team store (`shared_metadata`), the root must be one every machine reaches: object
    storage, or a local folder only when $ZVIZ_ARTIFACT_STORE_SHARED=1 says it is a shared mount.
    Raises ConfigError otherwise.
    """
    root = explicit or settings().ARTIFACT_STORE or ""
    if not shared_metadata:
        return root or str(home / "artifacts")
    if not root:
        raise ConfigError(
            f"A team store (ZVIZ_STORE_URL) needs {STORE_ENV} set to where every machine can "
            "read the artifact files, such as s3://bucket/zviz."
        )
    if not is_remote(root) and not settings().ARTIFACT_STORE_SHARED:
        raise ConfigError(
            f"{STORE_ENV}={root} is a local folder, but the metadata is shared through "
            "ZVIZ_STORE_URL: other machines could not read these files. Use object storage "
            f"(s3://bucket/prefix), or set {SHARED_ENV}=1 if that folder is a mount every "
            "machine shares."
        )
    return root


def join(base: str, *parts: str) -> str:
    """Join path parts the way the store's URLs do (posix separators for remote stores)."""
    if is_remote(base):
        return posixpath.join(base, *parts)
    return os.path.join(base, *parts)


def _protocol(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if is_remote(uri) else "file"


def normalized(uri: str) -> tuple[str, str]:
    """(protocol, normalized path) of a URI: symlinks resolved for local files, `..` and `.`
    folded for remote ones. Raises ArtifactPathError for a URI that cannot name a file safely."""
    if not isinstance(uri, str) or not uri or "\x00" in uri:
        raise ArtifactPathError(f"{uri!r} is not a usable file location.")
    if is_remote(uri):
        protocol, _, rest = uri.partition("://")
        if "?" in rest or "#" in rest:
            raise ArtifactPathError(f"{uri} carries a query or fragment; artifact files may not.")
        return protocol.lower(), posixpath.normpath("/" + rest.lstrip("/"))
    path = uri.removeprefix("file://")
    return "file", os.path.realpath(os.path.expanduser(path))


def is_inside(
    uri: str, folder: str, strictly: bool = False, base: tuple[str, str] | None = None
) -> bool:
    """Whether `uri` lies inside `folder` (same scheme, same bucket or root), after resolving
    `..`, `.` and, for local files, symlinks. `strictly` excludes the folder itself; `base` is
    `normalized(folder)` when the caller already has it."""
    try:
        (p1, path), (p2, base) = normalized(uri), base or normalized(folder)
    except ArtifactPathError:
        return False
    if p1 != p2:
        return False
    sep = "/" if p1 != "file" else os.sep
    if path == base:
        return not strictly
    return path.startswith(base.rstrip(sep) + sep)


class ArtifactStore:
    """File operations on one artifact store root, usable with any fsspec URL.

    Every operation is confined to `boundary` (the root, unless `scoped()` narrowed it to one
    artifact version's folder): a path outside it raises ArtifactPathError before anything is
    opened, listed or deleted.
    """

    def __init__(
        self,
        root: str,
        storage_options: dict[str, Any] | None = None,
        boundary: str | None = None,
    ) -> None:
        self.root = root if is_remote(root) else os.path.abspath(os.path.expanduser(root))
        self.storage_options = (
            storage_options if storage_options is not None else storage_options_for(self.root)
        )
        self.boundary = boundary or self.root
        self._fs: Any = None
        self._base: tuple[str, str] | None = None  # normalized(boundary), on first check

    @property
    def fs(self) -> Any:
        if self._fs is None:
            try:
                fs, _ = _fsspec().core.url_to_fs(self.root, **self.storage_options)
            except ImportError as exc:
                raise ConfigError(_missing_package(self.root, exc)) from exc
            self._fs = fs
        return self._fs

    def scoped(self, folder: str) -> ArtifactStore:
        """The same store, confined to `folder` (which must lie inside the root)."""
        self.check(folder, strictly=True)
        scoped = ArtifactStore(self.root, self.storage_options, boundary=folder)
        scoped._fs = self._fs
        return scoped

    def check(self, uri: str, strictly: bool = False, what: str = "") -> str:
        """Return `uri` if it lies inside this store's boundary; raise ArtifactPathError if not."""
        if self._base is None:
            with contextlib.suppress(ArtifactPathError):
                self._base = normalized(self.boundary)
        if not is_inside(uri, self.boundary, strictly, self._base):
            where = (
                "this artifact version's own folder"
                if self.boundary != self.root
                else "the configured artifact store"
            )
            raise ArtifactPathError(
                f"{what or 'The location'} {uri!r} lies outside {where} ({self.boundary}); zviz "
                "opens and deletes files only inside it."
            )
        return uri

    def _path(self, uri: str) -> str:
        self.check(uri)
        return uri if not is_remote(uri) else self.fs._strip_protocol(uri)

    def version_folder(self, version_id: Any) -> str:
        """The folder of an artifact version, named by its id alone: <root>/<version id>."""
        return join(self.root, str(version_id))

    def run_folder(self, run_id: Any) -> str:
        """The folder of a run's own files (its steps' logs): <root>/<run id>."""
        return join(self.root, str(run_id))

    def step_log_uri(self, run_id: Any, step_id: Any) -> str:
        """Where a step's captured log lives: <root>/<run id>/<step id>/logs.txt."""
        return join(self.run_folder(run_id), str(step_id), STEP_LOG_FILE)

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        """Open a file in the store, making parent folders when writing."""
        writing = "w" in mode or "a" in mode
        self.check(path, strictly=writing)
        local = path if not is_remote(path) else self.fs._strip_protocol(path)
        if writing:
            # the parent of a checked path lies inside the boundary too (or is the boundary)
            self.fs.makedirs(
                posixpath.dirname(local) if is_remote(path) else os.path.dirname(local),
                exist_ok=True,
            )
        return self.fs.open(local, mode)

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(self._path(path), exist_ok=True)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self._path(path)))

    def size(self, path: str) -> int:
        return int(self.fs.size(self._path(path)))

    def listdir(self, path: str) -> list[str]:
        return [
            posixpath.basename(p.rstrip("/")) for p in self.fs.ls(self._path(path), detail=False)
        ]

    def rmtree(self, path: str) -> None:
        self.check(path, strictly=True)
        if self.exists(path):
            self.fs.rm(self._path(path), recursive=True)

    def remove_version_folder(self, uri: str, version_id: Any) -> None:
        """Delete an artifact version's folder: only a folder strictly inside the root whose
        name is the version's id, so a row pointing elsewhere can never delete other files.

        Raises ArtifactPathError for any other location.
        """
        _, path = normalized(uri)
        if posixpath.basename(path) != str(version_id):
            raise ArtifactPathError(
                f"{uri!r} is not the folder of artifact version {version_id}; it was not deleted."
            )
        self.rmtree(uri)

    def remove(self, path: str) -> None:
        if self.exists(path):
            self.fs.rm(self._path(path))

    def read_bytes(self, uri: str, limit: int | None = None) -> bytes:
        """Read a file's bytes (at most `limit`); raises ArtifactLoadError with a fix to try,
        ArtifactPathError when `uri` lies outside the store."""
        return read_bytes(self.check(uri), limit, self.storage_options)

    def file_size(self, uri: str) -> int:
        """The size in bytes of a file inside the store; raises as `read_bytes` does."""
        return file_size(self.check(uri), self.storage_options)


@contextlib.contextmanager
def translated_errors(uri: str) -> Iterator[None]:
    """Turn filesystem errors while touching `uri` into zviz's load errors.

    Raises ArtifactLoadError when the file is missing, ArtifactStoreUnreachableError when the
    store cannot be reached (credentials, endpoint, bucket, missing package), each with the fix.
    """
    try:
        yield
    except FileNotFoundError as exc:
        if is_remote(uri) and "bucket" in str(exc).lower():
            raise _unreachable(uri, "its bucket does not exist") from exc
        raise ArtifactLoadError(
            f"The file {uri} is missing from the artifact store; it was deleted or moved "
            "outside zviz."
        ) from exc
    except IsADirectoryError as exc:
        raise ArtifactLoadError(f"{uri} is a folder, not a file.") from exc
    except PermissionError as exc:
        raise _unreachable(uri, "access was denied") from exc
    except ImportError as exc:
        raise ArtifactStoreUnreachableError(_missing_package(uri, exc)) from exc
    except ArtifactLoadError:
        raise
    except Exception as exc:
        if not is_remote(uri) and isinstance(exc, OSError):
            raise ArtifactLoadError(f"{uri} could not be read: {exc.strerror or exc}.") from exc
        raise _unreachable(uri, _reason(exc)) from exc


def read_bytes(
    uri: str, limit: int | None = None, storage_options: dict[str, Any] | None = None
) -> bytes:
    """Read any URI's bytes (at most `limit`); raises as `translated_errors` says."""
    with translated_errors(uri):
        if not is_remote(uri):
            with open(uri, "rb") as fh:
                return fh.read() if limit is None else fh.read(limit)
        options = storage_options if storage_options is not None else storage_options_for(uri)
        with _fsspec().open(uri, "rb", **options) as fh:
            return fh.read() if limit is None else fh.read(limit)


def file_size(uri: str, storage_options: dict[str, Any] | None = None) -> int:
    """The size in bytes of the file at `uri`; raises as `translated_errors` says."""
    with translated_errors(uri):
        if not is_remote(uri):
            return os.stat(uri).st_size
        options = storage_options if storage_options is not None else storage_options_for(uri)
        fs, path = _fsspec().core.url_to_fs(uri, **options)
        return int(fs.size(path))


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if "Credential" in name:
        return "no credentials were found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    if "Endpoint" in name or "Connect" in name or "Timeout" in name:
        return f"its endpoint did not answer ({name})"
    if "NoSuchBucket" in str(exc):
        return "its bucket does not exist"
    return f"{name}: {str(exc)[:200]}"


def _unreachable(uri: str, reason: str) -> ArtifactStoreUnreachableError:
    return ArtifactStoreUnreachableError(
        f"The app cannot reach the artifact store holding {uri}: {reason}. Give it access as "
        "the README says (credentials and endpoint in the environment or Streamlit secrets)."
    )

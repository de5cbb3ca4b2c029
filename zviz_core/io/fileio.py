"""`open`, `exists`, `makedirs` and friends for local paths and any fsspec URL."""

from __future__ import annotations

from typing import IO, Any

from zviz_core.artifacts.store import ArtifactStore


def _store(uri: str) -> ArtifactStore:
    return ArtifactStore(uri)


def open(uri: str, mode: str = "r") -> IO[Any]:
    """Open `uri` (a path or fsspec URL); writing creates parent folders. Returns a file object."""
    return _store(uri).open(uri, mode)


def exists(uri: str) -> bool:
    """Whether `uri` exists."""
    return _store(uri).exists(uri)


def makedirs(uri: str) -> None:
    """Create a folder and its parents; no error if it exists."""
    _store(uri).makedirs(uri)


def listdir(uri: str) -> list[str]:
    """Names of the entries in a folder."""
    return _store(uri).listdir(uri)


def remove(uri: str) -> None:
    """Delete a file if it exists."""
    _store(uri).remove(uri)


def rmtree(uri: str) -> None:
    """Delete a folder and everything in it, if it exists."""
    _store(uri).rmtree(uri)

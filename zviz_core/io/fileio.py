"""`open`, `exists`, `makedirs` and friends for local paths and any fsspec URL.

These are for the user's own code (as ZenML's `fileio`), so they reach any path the user names;
zviz itself opens artifact files only through a confined ArtifactStore.
"""

from __future__ import annotations

import os
from typing import IO, Any

from zviz_core.artifacts.store import ArtifactStore, is_remote


def _store(uri: str) -> ArtifactStore:
    anywhere = uri.split("://", 1)[0] + ":///" if is_remote(uri) else os.sep
    return ArtifactStore(uri, boundary=anywhere)


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

"""Shared fixtures: every test gets its own store folder; nothing touches ~/.zviz."""

from __future__ import annotations

from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.store.db import Database


@pytest.fixture(autouse=True)
def zviz_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty store folder in ZVIZ_HOME, with no access config and no demo."""
    home = tmp_path / "store"
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    monkeypatch.setenv("ZVIZ_DEMO", "0")
    for name in ("ZVIZ_ARTIFACT_STORE", "ZVIZ_AUTH_CONFIG", "ZVIZ_PROJECT", "ZVIZ_COOKIE_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield home
    Database._forget_all()


@pytest.fixture
def client(zviz_home: Path) -> Client:
    """The local owner's client on the test's store."""
    return Client()

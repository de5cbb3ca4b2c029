"""The demo seeds the store it is given, on either engine, and never the environment: a team
store (PostgreSQL) is seeded only when ZVIZ_DEMO=1 asks for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.demo import MODEL_NAME, ensure_demo


def _counts(client: Client) -> tuple[int, int]:
    return client.list_pipeline_runs(all_projects=True, size=1).total, client.list_models().total


def test_an_empty_store_is_seeded_by_default_only_when_embedded(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZVIZ_DEMO", raising=False)
    client = Client()
    seeded = ensure_demo(client)
    assert seeded is (engine == "duckdb")
    runs, models = _counts(client)
    assert (runs > 0) is seeded and (models > 0) is seeded


def test_zviz_demo_1_seeds_a_team_store_too(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    client = Client()
    assert ensure_demo(client) is True
    assert client.get_model(MODEL_NAME).name == MODEL_NAME
    assert ensure_demo(client) is False  # a store with runs is never seeded again


@pytest.mark.duckdb_only  # a second store in the same test: another folder is enough
def test_the_demo_seeds_the_given_store_and_leaves_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    other = Client(home=tmp_path / "other")
    before = dict(os.environ)
    assert ensure_demo(other.as_user(None)) is True
    assert dict(os.environ) == before
    assert _counts(other)[0] > 0
    assert _counts(Client()) == (0, 0)

"""An artifact's versions: the run, step and pipeline that produced each, the steps that used
it, a name shared across pipelines (Annotated), and only what the user may read (issue 14, 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from tests.core.access.conftest import write_config
from zviz_core import Client, pipeline, step
from zviz_core.errors import EntityNotFoundError, InvalidInputError


@step
def measure(score: float) -> Annotated[dict, "metrics"]:
    return {"score": score}


@step
def judge(metrics: dict) -> bool:
    return metrics["score"] > 0.5


@step
def compare(metrics: dict, other: dict) -> float:
    return metrics["score"] - other["score"]


@pipeline
def wine(score: float = 0.9) -> None:
    judge(measure(score))


@pipeline
def toy(score: float = 0.1) -> None:
    measure(score)


def _metrics(client: Client, version: int):
    page = client.list_artifact_versions(artifact_name="metrics", size=50)
    return next(av for av in page.items if av.version == version)


def test_versions_list_their_producers_users_and_pipelines(client: Client) -> None:
    first = wine(0.9)
    toy(0.1)
    toy(0.2)
    last = wine(0.7)
    newest = _metrics(client, 4)
    history = client.get_artifact_history(newest)
    assert history.total == 4
    rows = [
        (e.version.version, e.version.pipeline_name, e.version.run_name, e.version.step_name)
        for e in history.items
    ]
    assert [r[:2] for r in rows] == [(4, "wine"), (3, "toy"), (2, "toy"), (1, "wine")]
    assert rows[0][2] == last.name and rows[3][2] == first.name
    assert all(r[3] == "measure" for r in rows)
    uses = {
        e.version.version: [(u.run_name, u.step_name, u.input_name) for u in e.used_by]
        for e in history.items
    }
    assert uses == {
        4: [(last.name, "judge", "metrics")],
        3: [],
        2: [],
        1: [(first.name, "judge", "metrics")],
    }
    assert [p.name for p in client.list_artifact_pipelines(newest)] == ["toy", "wine"]
    # The same history, whichever version is asked about.
    assert [e.version.id for e in client.get_artifact_history(_metrics(client, 2)).items] == [
        e.version.id for e in history.items
    ]


def test_the_history_filters_by_pipeline_and_paginates(client: Client) -> None:
    for score in (0.9, 0.8):
        wine(score)
        toy(score)
    toy_id = next(p.id for p in client.list_pipelines().items if p.name == "toy")
    only_toy = client.get_artifact_history(_metrics(client, 1), pipeline_id=toy_id)
    assert only_toy.total == 2
    assert [e.version.version for e in only_toy.items] == [4, 2]
    second = client.get_artifact_history(_metrics(client, 1), page=2, size=3)
    assert second.total == 4 and [e.version.version for e in second.items] == [1]
    with pytest.raises(InvalidInputError):
        client.get_artifact_history(_metrics(client, 1), pipeline_id="not-an-id")


def test_uses_are_bounded_per_version_and_counted(client: Client) -> None:
    @pipeline
    def fan_out() -> None:
        m = measure(0.3)
        for _ in range(7):
            judge(m)

    fan_out()
    entry = client.get_artifact_history(_metrics(client, 1), uses_per_version=5).items[0]
    assert len(entry.used_by) == 5 and entry.more_uses == 2
    assert [u.step_name for u in entry.used_by] == ["judge", *(f"judge_{i}" for i in range(2, 6))]


def test_an_unreadable_version_has_no_history(client: Client) -> None:
    with pytest.raises(EntityNotFoundError):
        client.get_artifact_history("5f1c7f9e-8a39-4a7e-9d0a-1f6f0e9f2a11")
    with pytest.raises(EntityNotFoundError):
        client.list_artifact_pipelines("not-an-id")


def test_the_history_shows_only_what_the_user_may_read(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wine(0.9)
    toy(0.1)

    @pipeline
    def secret_reader() -> None:
        compare(measure(0.5), measure(0.6))

    secret_reader()
    config = write_config(
        tmp_path / "auth.yaml",
        {"alice": ["admin"], "bob": ["viewer"], "eve": ["nobody"]},
        {
            "admin": {"read": ["*"], "write": ["*"]},
            "viewer": {"read": ["pipeline:wine"]},
            "nobody": {"read": []},
        },
    )
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    alice, bob, eve = Client(user="alice"), Client(user="bob"), Client(user="eve")
    wine_version = _metrics(client, 1)
    assert alice.get_artifact_history(wine_version).total == 4
    assert [p.name for p in alice.list_artifact_pipelines(wine_version)] == [
        "secret_reader",
        "toy",
        "wine",
    ]
    seen = bob.get_artifact_history(wine_version)
    assert seen.total == 1
    assert [e.version.pipeline_name for e in seen.items] == ["wine"]
    assert [p.name for p in bob.list_artifact_pipelines(wine_version)] == ["wine"]
    with pytest.raises(EntityNotFoundError):
        bob.get_artifact_history(_metrics(client, 2))
    with pytest.raises(EntityNotFoundError):
        eve.get_artifact_history(wine_version)
    with pytest.raises(EntityNotFoundError):
        eve.list_artifact_pipelines(wine_version)

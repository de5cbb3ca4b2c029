"""The demo seed: what it puts in an empty store, when it does nothing, and its users' access."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import bcrypt
import pytest
from PIL import Image

from zviz_core import Client, demo
from zviz_core.access import AccessConfig
from zviz_core.demo import (
    DEMO_AUTH_CONFIG,
    DEMO_COOKIE_KEY,
    DEMO_USERS,
    DEPLOYMENT_NAME,
    MODEL_NAME,
    TRAINING_PIPELINE,
    VALIDATION_PIPELINE,
    demo_auth_config,
    ensure_demo,
)
from zviz_core.enums import CuratedVisualizationSize, VisualizationResourceTypes, VisualizationType
from zviz_core.errors import EntityNotFoundError
from zviz_core.models import CuratedVisualizationResponse
from zviz_core.report import STYLESHEET
from zviz_core.store.db import Database
from zviz_testing.factories import run_everything

ROOT = Path(__file__).resolve().parents[2]
# These tests share one seeded DuckDB folder; tests/core/test_demo_stores.py covers the engines.
pytestmark = pytest.mark.duckdb_only


@dataclass(frozen=True)
class Seeded:
    home: Path
    result: bool
    progress: list[tuple[float, str]]
    seconds: float

    def client(self) -> Client:
        return Client(home=self.home)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One demo seeded into its own store, shared by the tests that only read it."""
    home = tmp_path_factory.mktemp("demo") / "store"
    progress: list[tuple[float, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZVIZ_HOME", str(home))
        mp.setenv("ZVIZ_DEMO", "1")
        for name in ("ZVIZ_ARTIFACT_STORE", "ZVIZ_AUTH_CONFIG", "ZVIZ_PROJECT"):
            mp.delenv(name, raising=False)
        started = time.perf_counter()
        result = ensure_demo(progress=lambda f, text: progress.append((f, text)))
        seconds = time.perf_counter() - started
    Database._forget_all()
    return Seeded(home, result, progress, seconds)


def _counts(client: Client) -> dict[str, int]:
    return {
        "runs": client.list_pipeline_runs(all_projects=True, size=1).total,
        "pipelines": client.list_pipelines(size=1).total,
        "snapshots": client.list_snapshots(size=1).total,
        "models": client.list_models(size=1).total,
        "deployments": client.list_deployments(size=1).total,
        "artifact_versions": client.list_artifact_versions(size=1).total,
        "tiles": len(_all_tiles(client)),
    }


def _resources(client: Client) -> list[tuple[VisualizationResourceTypes, UUID]]:
    """Every resource of the active project the client can see, with its kind."""
    kinds = VisualizationResourceTypes
    found = [(kinds.PROJECT, client.active_project.id)] if _can_read_project(client) else []
    found += [(kinds.PIPELINE, p.id) for p in client.list_pipelines(size=100)]
    found += [(kinds.PIPELINE_RUN, r.id) for r in client.list_pipeline_runs(size=100)]
    found += [(kinds.PIPELINE_SNAPSHOT, s.id) for s in client.list_snapshots(size=100)]
    found += [(kinds.MODEL, m.id) for m in client.list_models(size=100)]
    found += [(kinds.DEPLOYMENT, d.id) for d in client.list_deployments(size=100)]
    return found


def _can_read_project(client: Client) -> bool:
    try:
        client.get_project(client.active_project.id)
    except EntityNotFoundError:
        return False
    return True


def _all_tiles(client: Client) -> list[CuratedVisualizationResponse]:
    return [
        tile
        for kind, key in _resources(client)
        for tile in client.list_curated_visualizations(kind, key)
    ]


def _best_run(client: Client):
    runs = client.list_pipeline_runs(
        pipeline_id=client.get_pipeline(TRAINING_PIPELINE).id, size=10
    ).items
    return max(
        runs, key=lambda r: r.steps["evaluate_model"].outputs["metrics"][0].load()["accuracy"]
    )


# -- what the demo holds ---------------------------------------------------------------------------


def test_demo_seeds_runs_pipelines_model_and_deployment(seeded: Seeded) -> None:
    client = seeded.client()
    print(f"demo seeded in {seeded.seconds:.2f} s")

    assert seeded.result is True
    assert seeded.progress[0][0] == 0.0 and seeded.progress[-1][0] == 1.0
    fractions = [f for f, _ in seeded.progress]
    assert fractions == sorted(fractions)
    assert all(text for _, text in seeded.progress)

    assert {p.name for p in client.list_pipelines()} == {TRAINING_PIPELINE, VALIDATION_PIPELINE}
    training = client.get_pipeline(TRAINING_PIPELINE)
    runs = client.list_pipeline_runs(pipeline_id=training.id).items
    assert len(runs) == 3
    assert all(r.status == "completed" for r in runs)
    # Different hyper-parameters: three snapshots, three different accuracies.
    assert len({r.snapshot_id for r in runs}) == 3
    configs = [client.get_snapshot(r.snapshot_id).config["parameters"] for r in runs]
    assert len({(c["n_estimators"], c["max_depth"]) for c in configs}) == 3
    accuracies = {r.steps["evaluate_model"].outputs["metrics"][0].load()["accuracy"] for r in runs}
    assert len(accuracies) == 3
    validation = client.list_pipeline_runs(
        pipeline_id=client.get_pipeline(VALIDATION_PIPELINE).id
    ).items
    assert len(validation) == 1

    model = client.get_model(MODEL_NAME)
    assert model.description
    deployment = client.get_deployment(DEPLOYMENT_NAME)
    assert deployment.snapshot_id == _best_run(client).snapshot_id


def test_every_step_output_is_of_the_kinds_the_issue_asks_for(seeded: Seeded) -> None:
    run = _best_run(seeded.client())
    outputs = {
        name: av.data_type
        for step_run in run.steps.values()
        for name, versions in step_run.outputs.items()
        for av in versions
    }

    assert outputs["wine_data"] == "pandas.DataFrame"
    assert outputs["wine_model"].endswith("RandomForestClassifier")
    assert outputs["confusion_matrix"].startswith("PIL.")
    assert outputs["evaluation_report"] == "zviz_core.types.HTMLString"
    assert outputs["model_card"] == "zviz_core.types.MarkdownString"
    assert outputs["metrics"] == "builtins.dict"
    assert outputs["feature_importance"].startswith("altair.")


def test_demo_has_every_visualization_type_and_each_one_loads(seeded: Seeded) -> None:
    client = seeded.client()
    seen: Counter[VisualizationType] = Counter()
    page = 1
    while True:
        versions = client.list_artifact_versions(page=page, size=50)
        for av in versions:
            for viz in av.visualizations:
                seen[viz.type] += 1
                _check_content(client, viz.id, viz.type)
        if page >= versions.total_pages:
            break
        page += 1

    assert set(seen) == set(VisualizationType)


def _check_content(client: Client, viz_id: UUID, vtype: VisualizationType) -> None:
    value = client.load_visualization(viz_id).value
    if vtype is VisualizationType.IMAGE:
        with Image.open(io.BytesIO(value)) as image:
            assert image.width > 100 and image.height > 100
    elif vtype in (VisualizationType.JSON, VisualizationType.VEGA_LITE):
        document = json.loads(value)
        if vtype is VisualizationType.VEGA_LITE:
            assert "vega-lite" in document["$schema"]
    elif vtype is VisualizationType.HTML:
        assert value.startswith("<!DOCTYPE html>") and STYLESHEET in value
    else:
        assert value.strip()


def test_tiles_on_all_six_kinds_of_resource_in_both_widths(seeded: Seeded) -> None:
    client = seeded.client()
    by_kind: dict[VisualizationResourceTypes, list[CuratedVisualizationResponse]] = {}
    for kind, key in _resources(client):
        tiles = client.list_curated_visualizations(kind, key)
        if tiles:
            by_kind.setdefault(kind, []).extend(tiles)
            # Orders in gaps of 10, in the order the list returns them; names are unique.
            assert [t.display_order for t in tiles] == [10 * (i + 1) for i in range(len(tiles))]
            assert len({t.display_name for t in tiles}) == len(tiles)
            assert {t.layout_size for t in tiles} == set(CuratedVisualizationSize), (kind, key)

    # The model page follows the newest training run's evaluation report.
    [following] = [t for t in by_kind[VisualizationResourceTypes.MODEL] if t.follow is not None]
    newest = client.list_pipeline_runs(pipeline_id=client.get_pipeline(TRAINING_PIPELINE).id)
    assert following.run_id == newest.items[0].id
    assert following.artifact_name == "evaluation_report"
    assert set(by_kind) == set(VisualizationResourceTypes)
    tiles = [t for group in by_kind.values() for t in group]
    assert all(t.display_name for t in tiles)
    assert {t.artifact_visualization.type for t in tiles} == set(VisualizationType)
    for tile in tiles:
        _check_content(client, tile.artifact_visualization_id, tile.artifact_visualization.type)


def test_the_custom_materializer_round_trips_the_model(seeded: Seeded) -> None:
    run = _best_run(seeded.client())
    av = run.steps["train_model"].output
    data = run.steps["split_data"].outputs["test_set"][0].load()

    model = av.load()

    assert av.materializer == "zviz_core.demo.SklearnEstimatorMaterializer"
    assert av.metadata["estimator"] == "RandomForestClassifier"
    assert av.metadata["params"]["n_estimators"] == model.n_estimators
    predicted = model.predict(data.drop(columns="cultivar"))
    assert (predicted == data["cultivar"]).mean() > 0.9


def test_a_second_ensure_demo_does_nothing(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    client = seeded.client()
    before = _counts(client)

    assert ensure_demo(client) is False
    assert _counts(client) == before


def test_a_client_on_another_store_gets_the_demo_whoever_it_acts_as(
    seeded: Seeded, zviz_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    other = tmp_path / "other-store"
    viewer = Client("viewer", home=other, access=AccessConfig.from_dict(DEMO_AUTH_CONFIG))

    assert ensure_demo(viewer) is True

    assert _counts(Client(home=other)) == _counts(seeded.client())
    assert os.environ["ZVIZ_HOME"] == str(zviz_home)
    assert "ZVIZ_ARTIFACT_STORE" not in os.environ
    assert _counts(Client())["runs"] == 0
    files = {p.relative_to(other).parts[0] for p in other.rglob("*") if p.is_file()}
    assert "artifacts" in files


# -- when it does nothing ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_zviz_demo_0_seeds_nothing_and_touches_no_store(
    value: str, zviz_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZVIZ_DEMO", value)

    assert ensure_demo() is False
    assert not zviz_home.exists()


def test_a_store_with_runs_is_not_seeded(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    run_everything()
    monkeypatch.setenv("ZVIZ_DEMO", "1")

    assert ensure_demo(client) is False
    assert client.list_models().total == 0
    assert client.list_pipeline_runs().total == 1


def test_a_store_with_only_a_model_is_not_seeded(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.create_model("mine")
    monkeypatch.setenv("ZVIZ_DEMO", "1")

    assert ensure_demo(client) is False
    assert client.list_pipeline_runs().total == 0


# -- several processes ----------------------------------------------------------------------------

_RACER = """
import json, pathlib, sys, time
from zviz_core.demo import ensure_demo
pathlib.Path(sys.argv[2]).touch()
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
print(json.dumps(ensure_demo()))
"""


@pytest.mark.slow
def test_two_processes_starting_at_once_end_with_exactly_one_demo(
    seeded: Seeded, zviz_home: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "ZVIZ_HOME": str(zviz_home), "ZVIZ_DEMO": "1", "PYTHONPATH": str(ROOT)}
    procs = []
    for i in range(2):
        ready = tmp_path / f"ready-{i}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", _RACER, str(go), str(ready)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "the seeding processes did not start"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.01)
    go.touch()
    results = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert sorted(results) == [False, True]
    Database._forget_all()
    assert _counts(Client(home=zviz_home)) == _counts(seeded.client())


def test_two_threads_of_one_process_end_with_exactly_one_demo(
    seeded: Seeded, zviz_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Streamlit runs each browser session in its own thread: two first visitors at once.
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    barrier = threading.Barrier(2)

    def seed() -> bool:
        barrier.wait()
        return ensure_demo()

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(seed) for _ in range(2)]]

    assert sorted(results) == [False, True]
    assert _counts(Client()) == _counts(seeded.client())


def test_a_seeder_that_missed_the_lock_stops_at_its_first_write(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a filesystem without locks: the second seeder believes the store is empty and
    # takes no lock; the unique run names stop it before it writes anything.
    monkeypatch.setenv("ZVIZ_DEMO", "1")
    assert ensure_demo(client) is True
    before = _counts(client)

    monkeypatch.setattr(demo, "_is_empty", lambda _client: True)

    assert ensure_demo(client) is False
    assert _counts(client) == before


# -- the demo's users --------------------------------------------------------------------------------


def test_demo_users_are_in_the_config_with_hashed_passwords() -> None:
    users = DEMO_AUTH_CONFIG["credentials"]["usernames"]
    assert [u for u, _, _ in DEMO_USERS] == list(users)
    for username, password, what in DEMO_USERS:
        stored = users[username]["password"]
        assert stored.startswith("$2b$") and password not in json.dumps(DEMO_AUTH_CONFIG)
        assert bcrypt.checkpw(password.encode(), stored.encode()), username
        assert what
    assert DEMO_AUTH_CONFIG["cookie"]["key"] == DEMO_COOKIE_KEY
    assert "DEMO" in DEMO_COOKIE_KEY

    copy = demo_auth_config()
    copy["credentials"]["usernames"]["admin"]["password"] = "changed"
    assert DEMO_AUTH_CONFIG["credentials"]["usernames"]["admin"]["password"] != "changed"


def test_each_demo_user_sees_what_the_login_page_says(seeded: Seeded) -> None:
    access = AccessConfig.from_dict(DEMO_AUTH_CONFIG)

    def as_user(name: str) -> Client:
        return Client(name, home=seeded.home, access=access)

    admin, scientist, viewer = as_user("admin"), as_user("scientist"), as_user("viewer")
    model_id = seeded.client().get_model(MODEL_NAME).id
    everything = _counts(seeded.client())

    assert _counts(admin) == everything
    assert admin.can_write("model", model_id)

    assert [p.name for p in scientist.list_pipelines()] == [TRAINING_PIPELINE]
    assert scientist.list_pipeline_runs().total == 3
    assert scientist.list_models().total == 1 and scientist.list_deployments().total == 0
    assert scientist.can_write("model", model_id)
    assert scientist.can_write("pipeline", scientist.get_pipeline(TRAINING_PIPELINE).id)
    with pytest.raises(EntityNotFoundError):
        scientist.get_project(scientist.active_project.id)

    assert viewer.list_pipelines().total == 0 and viewer.list_pipeline_runs().total == 0
    assert [m.name for m in viewer.list_models()] == [MODEL_NAME]
    assert [d.name for d in viewer.list_deployments()] == [DEPLOYMENT_NAME]
    assert not viewer.can_write("model", model_id)
    tiles = viewer.list_curated_visualizations("model", model_id)
    assert len(tiles) == 4
    pinned = [t for t in tiles if t.follow is None]
    for tile in pinned:
        assert viewer.load_visualization_content(tile.artifact_visualization).value
    # The viewer may open no training run, so the tile following the latest one shows nothing.
    [following] = [t for t in tiles if t.follow is not None]
    assert following.artifact_visualization is None and following.run_name is None


def test_demo_runs_have_sortable_metrics_and_compare(seeded: Seeded) -> None:
    client = seeded.client()
    pipeline = client.get_pipeline(TRAINING_PIPELINE)
    names = client.list_metric_names(pipeline.id)
    # From the evaluation's JSON output and from log_metadata in the training step.
    assert {"evaluate_model.metrics.accuracy", "train_model.train_accuracy"} <= set(names)
    ranked = client.list_pipeline_runs(
        pipeline_id=pipeline.id, sort_by_metric="evaluate_model.metrics.accuracy"
    ).items
    assert ranked[0].id == _best_run(client).id
    comparison = client.compare_runs([r.id for r in ranked])
    assert comparison.hidden == 0 and len(comparison.runs) == len(ranked) >= 2
    accuracy = next(m for m in comparison.metrics if m.name == "evaluate_model.metrics.accuracy")
    assert accuracy.best == [0]

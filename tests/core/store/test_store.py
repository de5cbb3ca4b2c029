"""The store's bad days: missing or corrupt files, unusable folders, old and new schemas, locks."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.core.helpers import run_python, start_python
from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus, VisualizationType
from zviz_core.errors import (
    ArtifactLoadError,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    ZvizError,
)
from zviz_core.store import forget_engines, schema
from zviz_core.store.db import DB_FILE, DuckCursor
from zviz_core.types import HTMLString


@step
def numbers() -> Annotated[int, "number"]:
    return 42


@step
def page() -> Annotated[HTMLString, "page"]:
    return HTMLString("<h1>page</h1>")


@step
def table() -> Annotated[pd.DataFrame, "table"]:
    return pd.DataFrame({"a": [1, 2, 3]})


@step
def grid() -> Annotated[np.ndarray, "grid"]:
    return np.arange(12.0).reshape(3, 4)


@pipeline
def assorted() -> None:
    numbers()
    page()
    table()
    grid()


# -- missing and corrupt artifact files --------------------------------------------------------


def test_missing_artifact_file_is_an_artifact_load_error(client: Client) -> None:
    av = assorted().steps["numbers"].output
    os.remove(os.path.join(av.uri, "data.json"))
    with pytest.raises(ArtifactLoadError) as info:
        av.load()
    message = str(info.value)
    assert "number" in message and "missing" in message and av.uri in message
    assert isinstance(info.value, ZvizError)


def test_missing_artifact_folder_is_an_artifact_load_error(client: Client) -> None:
    import shutil

    av = assorted().steps["table"].output
    shutil.rmtree(av.uri)
    with pytest.raises(ArtifactLoadError, match="missing"):
        client.get_artifact_version(av.id).load()


@pytest.mark.parametrize(
    ("step_name", "filename"),
    [("numbers", "data.json"), ("table", "data.parquet"), ("grid", "data.npy")],
)
def test_corrupt_artifact_file_is_an_artifact_load_error(
    step_name: str, filename: str, client: Client
) -> None:
    av = assorted().steps[step_name].output
    with open(os.path.join(av.uri, filename), "wb") as fh:
        fh.write(b"\x00garbage, not what the materializer wrote\xff")
    with pytest.raises(ArtifactLoadError) as info:
        av.load()
    message = str(info.value)
    assert "corrupt" in message and av.uri in message and av.name in message


def test_deleted_visualization_file_is_an_artifact_load_error(client: Client) -> None:
    run = assorted()
    viz = run.steps["page"].output.visualizations[0]
    assert client.load_visualization(viz.id).value == "<h1>page</h1>"
    os.remove(viz.uri)
    with pytest.raises(ArtifactLoadError) as info:
        client.load_visualization(viz.id)
    assert viz.uri in str(info.value) and "missing" in str(info.value)
    # Others of the same run still load.
    table_viz = run.steps["table"].output.visualizations[0]
    assert client.load_visualization(table_viz.id).type == VisualizationType.CSV


def test_visualize_outside_a_notebook_lists_the_files(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    av = assorted().steps["table"].output
    shown = av.visualize()
    assert [v.id for v in shown] == [v.id for v in av.visualizations]
    out = capsys.readouterr().out
    assert "describe.csv" in out and "sample.csv" in out and av.uri in out


def test_materializer_defined_in_another_script_cannot_load_here(
    client: Client, zviz_home: Path
) -> None:
    run_python(
        """
        import json
        from zviz_core import pipeline, step
        from zviz_core.materializers import BaseMaterializer

        class Point:
            def __init__(self, x): self.x = x

        class PointMaterializer(BaseMaterializer):
            ASSOCIATED_TYPES = (Point,)
            def save(self, data):
                with self.artifact_store.open(self.path("p.json"), "w") as fh:
                    json.dump({"x": data.x}, fh)
            def load(self, data_type):
                with self.artifact_store.open(self.path("p.json"), "r") as fh:
                    return data_type(json.load(fh)["x"])

        @step
        def point() -> Point:
            return Point(3)

        @pipeline
        def geometry():
            point()

        assert geometry().steps["point"].output.load().x == 3
        """,
        zviz_home,
    )
    av = client.list_artifact_versions().items[0]
    with pytest.raises(ArtifactLoadError, match="cannot be imported"):
        av.load()


# -- a store folder that cannot be used --------------------------------------------------------


def _unusable_homes(tmp_path: Path) -> dict[str, Path]:
    regular = tmp_path / "a-regular-file"
    regular.write_text("not a folder")
    return {
        "below-a-file": regular / "store",
        "in-proc": Path("/proc") / f"zviz-{uuid.uuid4().hex}",
    }


@pytest.mark.duckdb_only
@pytest.mark.parametrize("kind", ["below-a-file", "in-proc"])
def test_store_folder_that_cannot_be_created(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _unusable_homes(tmp_path)[kind]
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    client = Client()
    for call in (client.list_pipelines, lambda: client.create_model(name="m"), assorted):
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert "ZVIZ_HOME" in message and str(home) in message


def _read_only_folder(tmp_path: Path) -> Path:
    """An existing folder this process cannot write into, even as root."""
    if os.geteuid() == 0:
        # chmod does not stop root; /proc is an existing folder that refuses new files.
        return Path("/proc")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.duckdb_only
def test_existing_folder_that_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _read_only_folder(tmp_path)
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    try:
        with pytest.raises(StoreError) as info:
            Client().list_pipelines()
        message = str(info.value)
        assert "ZVIZ_HOME" in message and str(home) in message
        assert "Traceback" not in message
    finally:
        if home != Path("/proc"):
            home.chmod(0o755)


# -- schema versions ---------------------------------------------------------------------------


def _connect(path: str, **kwargs: object) -> duckdb.DuckDBPyConnection:
    """Open the database file directly, after this process's engine has let go of it."""
    forget_engines()
    return duckdb.connect(path, **kwargs)


def _stamp() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _build_v1_store(home: Path) -> dict[str, uuid.UUID]:
    """A store as zviz's first schema wrote it: a run with an artifact, a model and a tile."""
    home.mkdir(parents=True)
    con = _connect(str(home / DB_FILE))
    try:
        assert schema.migrate(DuckCursor(con), home, upto=1) == 1
        now = _stamp()
        ids = {
            k: uuid.uuid4()
            for k in ("pl", "snap", "run", "step", "art", "av", "viz", "model", "tile")
        }
        project = con.execute("SELECT id FROM projects WHERE name = 'default'").fetchone()[0]
        ids["project"] = project
        artifact_dir = home / "artifacts" / "old_step" / "output" / str(ids["av"])
        artifact_dir.mkdir(parents=True)
        (artifact_dir / "data.json").write_text("42")
        (artifact_dir / "report.html").write_text("<p>from v1</p>")
        rows = [
            ("INSERT INTO pipelines VALUES (?, ?, 'old_pipeline', ?)", [ids["pl"], project, now]),
            (
                "INSERT INTO snapshots VALUES (?, ?, ?, 'hash', ?, ?)",
                [ids["snap"], project, ids["pl"], json.dumps({"pipeline": "old_pipeline"}), now],
            ),
            (
                "INSERT INTO pipeline_runs VALUES (?, ?, ?, ?, 'old-run', 'completed', ?, ?, NULL, ?)",
                [ids["run"], project, ids["pl"], ids["snap"], now, now, now],
            ),
            (
                "INSERT INTO step_runs VALUES (?, ?, 'old_step', 0, 'completed', ?, ?, NULL, '{}')",
                [ids["step"], ids["run"], now, now],
            ),
            ("INSERT INTO artifacts VALUES (?, ?, 'old_artifact', ?)", [ids["art"], project, now]),
            (
                "INSERT INTO artifact_versions VALUES (?, ?, ?, 1, ?, 'builtins.int', "
                "'zviz_core.materializers.builtin.BuiltInMaterializer', ?, ?, 'output', '{}', ?)",
                [ids["av"], ids["art"], project, str(artifact_dir), ids["run"], ids["step"], now],
            ),
            (
                "INSERT INTO artifact_visualizations VALUES (?, ?, 0, 'html', ?)",
                [ids["viz"], ids["av"], str(artifact_dir / "report.html")],
            ),
            (
                "INSERT INTO models VALUES (?, ?, 'old_model', NULL, ?)",
                [ids["model"], project, now],
            ),
            (
                "INSERT INTO curated_visualizations VALUES (?, ?, ?, ?, 'model', ?, 'Old tile', 10, "
                "'half_width', ?, ?)",
                [ids["tile"], project, ids["viz"], ids["av"], ids["model"], now, now],
            ),
        ]
        for sql, params in rows:
            con.execute(sql, params)
    finally:
        con.close()
    return ids


def _version(home: Path) -> int:
    con = _connect(str(home / DB_FILE), read_only=True)
    try:
        return con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        con.close()


@pytest.mark.duckdb_only
def test_store_from_an_older_schema_upgrades_and_keeps_its_data(zviz_home: Path) -> None:
    assert schema.LATEST > 1
    ids = _build_v1_store(zviz_home)
    assert _version(zviz_home) == 1

    client = Client()
    run = client.get_pipeline_run("old-run")
    assert run.id == ids["run"] and run.status == ExecutionStatus.COMPLETED
    assert run.pipeline.name == "old_pipeline"
    assert run.snapshot().id == ids["snap"]
    av = run.steps["old_step"].output
    assert av.name == "old_artifact" and av.load() == 42
    assert client.load_visualization(ids["viz"]).value == "<p>from v1</p>"
    assert [m.name for m in client.list_models().items] == ["old_model"]
    tiles = client.list_curated_visualizations("model", ids["model"])
    assert [(t.id, t.display_name, t.display_order) for t in tiles] == [
        (ids["tile"], "Old tile", 10)
    ]
    assert tiles[0].artifact_name == "old_artifact"
    assert tiles[0].artifact_visualization.uri.endswith("report.html")
    # A new tile copies the old version's artifact name, which v14 wrote into the version.
    again = client.create_curated_visualization(ids["viz"], run.pipeline.id, "pipeline")
    assert (again.artifact_name, again.artifact_version) == ("old_artifact", 1)
    assert _version(zviz_home) == schema.LATEST

    # The upgraded store takes new work beside the old.
    new = assorted()
    assert new.status == ExecutionStatus.COMPLETED
    assert client.list_pipeline_runs().total == 2
    client.delete_model(ids["model"])
    assert client.list_curated_visualizations("model", ids["model"]) == []


@pytest.mark.duckdb_only
def test_store_from_a_newer_zviz_is_refused_untouched(zviz_home: Path) -> None:
    zviz_home.mkdir(parents=True)
    con = _connect(str(zviz_home / DB_FILE))
    schema.migrate(DuckCursor(con), zviz_home)
    future = schema.LATEST + 7
    con.execute("CREATE TABLE from_the_future (x INTEGER)")
    con.execute("INSERT INTO schema_version VALUES (?, ?)", [future, _stamp()])
    con.close()

    client = Client()
    for call in (client.list_pipelines, lambda: client.create_model(name="m"), assorted):
        with pytest.raises(StoreVersionError) as info:
            call()
        message = str(info.value)
        assert str(future) in message and "newer" in message and str(zviz_home) in message
        assert isinstance(info.value, StoreError)
    assert _version(zviz_home) == future
    con = _connect(str(zviz_home / DB_FILE), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM pipeline_runs").fetchone()[0] == 0
    finally:
        con.close()


@pytest.mark.duckdb_only
def test_migration_is_idempotent_on_a_current_store(client: Client, zviz_home: Path) -> None:
    client.create_model(name="m")
    con = _connect(str(zviz_home / DB_FILE))
    try:
        assert schema.migrate(DuckCursor(con), zviz_home) == schema.LATEST
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == schema.LATEST
        assert con.execute("SELECT count(*) FROM projects").fetchone()[0] == 1
    finally:
        con.close()


# -- the lock held by another process ----------------------------------------------------------

HOLDER = """
import sys, time, duckdb
con = duckdb.connect({path!r})
print("locked", flush=True)
if {release_after} > 0:
    time.sleep({release_after})
else:
    sys.stdin.read()
con.close()
"""


def _hold_lock(home: Path, release_after: float = 0):
    holder = start_python(
        HOLDER.format(path=str(home / DB_FILE), release_after=release_after), home
    )
    line = holder.stdout.readline()
    assert line.strip() == "locked", holder.stderr.read()
    return holder


@pytest.mark.duckdb_only
def test_lock_held_too_long_is_a_store_busy_error(
    zviz_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "0.3")
    client = Client()
    client.create_model(name="before")
    holder = _hold_lock(zviz_home)
    try:
        with pytest.raises(StoreBusyError) as info:
            client.create_model(name="during")
        message = str(info.value)
        assert str(zviz_home) in message and "ZVIZ_LOCK_TIMEOUT" in message
        assert isinstance(info.value, TimeoutError) and isinstance(info.value, StoreError)
        with pytest.raises(StoreBusyError):
            client.list_pipeline_runs(name_contains="anything")
        with pytest.raises(StoreBusyError):
            assorted()
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    # Nothing of the refused writes was kept, and the store works again.
    assert [m.name for m in client.list_models().items] == ["before"]
    assert client.list_pipeline_runs().total == 0
    assert assorted().status == ExecutionStatus.COMPLETED


@pytest.mark.duckdb_only
def test_a_short_lock_is_waited_out(zviz_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "30")
    client = Client()
    client.create_model(name="before")
    holder = _hold_lock(zviz_home, release_after=0.7)
    try:
        model = client.create_model(name="after the wait")
    finally:
        assert holder.wait(timeout=30) == 0
    assert model.name == "after the wait"
    assert {m.name for m in client.list_models().items} == {"before", "after the wait"}


# -- deleting removes files too ----------------------------------------------------------------


def test_deleting_an_artifact_version_or_run_removes_its_files(client: Client) -> None:
    first, second = assorted(), assorted()
    page_av = first.steps["page"].output
    assert os.path.isdir(page_av.uri)
    assert client.list_artifact_versions(run_id=first.id).total == 4
    assert client.list_artifact_versions(artifact_name="page").total == 2
    client.delete_artifact_version(page_av.id)
    assert not os.path.exists(page_av.uri)
    assert client.list_artifact_versions(run_id=first.id).total == 3
    with pytest.raises(KeyError):
        client.load_visualization(page_av.visualizations[0].id)

    uris = [s.output.uri for s in second.steps.values()]
    client.delete_pipeline_run(second.id)
    assert not any(os.path.exists(u) for u in uris)
    assert client.list_pipeline_runs().total == 1
    assert client.list_artifact_versions(artifact_name="page").total == 0
    assert first.steps["table"].output.load().shape == (3, 1)


@pytest.mark.duckdb_only
def test_store_busy_names_the_process_that_holds_the_store(
    zviz_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Client().list_models()  # the store exists
    holder = start_python(
        """
        import sys, time
        from pathlib import Path
        from zviz_core.store.db import Database
        db = Database.for_home(Path.cwd() / "__HOME__")
        db._pass_gate(True, time.monotonic())  # a writer that keeps the store to itself
        print("holding", flush=True)
        sys.stdin.readline()
        """.replace("__HOME__", str(zviz_home)),
        zviz_home,
    )
    try:
        assert holder.stdout.readline().strip() == "holding", holder.stderr.read()
        monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "1")
        forget_engines()
        with pytest.raises(StoreBusyError) as busy:
            Client().create_model("waits")
        message = str(busy.value)
        assert f"process {holder.pid}" in message and "took it" in message
        assert "ZVIZ_LOCK_TIMEOUT" in message
    finally:
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    forget_engines()
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "30")
    assert Client().create_model("after").name == "after"


def test_a_statement_run_again_reads_with_its_new_parameters(tmp_path: Path) -> None:
    """Statements are parsed once per process and run again: each run binds its own values,
    on any connection, and a script of several statements still runs whole."""
    first = duckdb.connect(str(tmp_path / "a.duckdb"))
    second = duckdb.connect(str(tmp_path / "b.duckdb"))
    for con, base in ((first, 0), (second, 100)):
        DuckCursor(con).execute(
            "CREATE TABLE t (k INTEGER, v VARCHAR); INSERT INTO t SELECT i, 'v' || i FROM range(3) r(i)"
        )
        DuckCursor(con).execute("UPDATE t SET k = k + $base", {"base": base})
    select = "SELECT v FROM t WHERE k = $k"
    assert DuckCursor(first).value(select, {"k": 1}) == "v1"
    assert DuckCursor(first).value(select, {"k": 2}) == "v2"
    assert DuckCursor(second).value(select, {"k": 102}) == "v2"
    assert DuckCursor(second).value(select, {"k": 2}) is None
    assert DuckCursor(first).rows("SELECT k FROM t WHERE k > $k ORDER BY k", {"k": 0}) == [
        (1,),
        (2,),
    ]

"""Team soak: two "machines" (processes with no folder in common: each its own ZVIZ_HOME, the
artifacts in a local S3 server) share one PostgreSQL store. 4 processes run 25 pipelines each
while 5 app sessions re-render pages and 2 edit tiles. Every run and edit must be there, whole,
nobody may see an error, and each machine's app must show the other machine's runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from tests.reliability.team_worker import (
    COOKIE_KEY,
    MACHINES,
    logged_in_app,
    open_page,
    pipeline_name,
    write_auth_config,
)
from zviz_core import Client
from zviz_core.enums import ExecutionStatus
from zviz_core.store import forget_engines
from zviz_core.ui.lists import PAGE_SIZE
from zviz_testing import pg
from zviz_testing.factories import run_everything

WRITERS, RUNS_EACH, READERS, EDITORS, EDITS_EACH = 4, 25, 5, 2, 8
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def team_store(
    pg_server: pg.PgServer,
    pg_template: str,
    s3_store: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """A fresh PostgreSQL database as $ZVIZ_STORE_URL, with the artifacts in a fresh bucket,
    and the lead's login config (a team store's app requires logins)."""
    url = pg_server.create_database(template=pg_template)
    forget_engines(close=True)
    monkeypatch.setenv("ZVIZ_STORE_URL", url)
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(write_auth_config(tmp_path / "auth.yaml")))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    yield url
    forget_engines(close=True)
    pg_server.drop_database(url)


def _spawn(tmp: Path, role: str, machine: str, index: int, stop: Path, count: int = 0):
    # Each machine has its own ZVIZ_HOME; the only things they share are the database and bucket.
    env = {**os.environ, "ZVIZ_HOME": str(tmp / machine)}
    args = [role, machine, str(index), str(stop), str(count)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.team_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_machines_share_one_postgres_store(team_store: str, tmp_path: Path) -> None:
    owner = Client()
    assert owner._db.kind == "postgres"
    seed = run_everything()
    viz = [v for s in seed.steps.values() for v in s.output.visualizations][:3]
    for i in range(EDITORS):
        model = owner.create_model(f"team-model-{i}")
        for v in viz:
            owner.create_curated_visualization(v.id, model.id, "model")

    stop = tmp_path / "stop"
    readers = [_spawn(tmp_path, "reader", MACHINES[i % 2], i, stop) for i in range(READERS)]
    writers = [
        _spawn(tmp_path, "writer", MACHINES[i % 2], i, stop, RUNS_EACH) for i in range(WRITERS)
    ]
    editors = [
        _spawn(tmp_path, "editor", MACHINES[i % 2], i, stop, EDITS_EACH) for i in range(EDITORS)
    ]
    try:
        written = [_result(p) for p in writers]
        edited = [_result(p) for p in editors]
    finally:
        stop.touch()
    read = [_result(p) for p in readers]
    print(
        f"\nteam soak: {sum(len(r['completed']) for r in written)} runs by {WRITERS} processes "
        f"on 2 machines, {sum(r['renders'] for r in read)} page renders by {READERS} sessions, "
        f"{EDITORS * EDITS_EACH} tile edits; {sum(r['retries'] for r in written + edited + read)} "
        f"retries; slowest writer {max(r['seconds'] for r in written):.0f} s"
    )

    for r in written + edited + read:
        assert not r.get("problems"), r["problems"][:3]
    for r in written:
        assert not r["failed"], r["failed"][:3]
        assert len(r["completed"]) == RUNS_EACH

    # Every run each writer was told about is in the store, whole, its artifacts readable.
    runs = owner.list_pipeline_runs(size=200)
    assert runs.total == WRITERS * RUNS_EACH + 1
    store = owner.artifact_store
    for r in written:
        name = pipeline_name(r["machine"], r["index"])
        assert owner.list_pipeline_runs(pipeline_id=owner.get_pipeline(name).id).total == RUNS_EACH
        for run_id in r["completed"]:
            run = owner.get_pipeline_run(run_id)
            assert run.pipeline.name == name
            assert run.status is ExecutionStatus.COMPLETED
            assert set(run.steps) == {"frame", "report"}
            for step in run.steps.values():
                assert step.status is ExecutionStatus.COMPLETED
                av = step.output
                assert av.uri.startswith("s3://") and store.exists(av.uri)
                assert av.visualizations
                for v in av.visualizations:
                    assert store.exists(v.uri), v.uri
    assert run.steps["report"].output.load().startswith("<h1>Report</h1>")

    for r in edited:
        for tile_id, name in r["expected"].items():
            assert owner.get_curated_visualization(tile_id).display_name == name

    # While they wrote, each machine's app found the other machine's runs ...
    assert all(r["renders"] > 0 for r in read)
    assert sorted({m for r in read for m in r["seen"]}) == sorted(MACHINES)
    # ... and a third machine's app lists both machines' runs now.
    st.cache_data.clear()
    at = logged_in_app()
    for machine in MACHINES:
        open_page(at, "runs", q=machine)
        assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
        assert any(f"of {WRITERS // 2 * RUNS_EACH}," in str(c.value) for c in at.caption)
        labels = [str(link.label).replace("\\", "") for link in at.get("page_link")]
        runs_shown = [label for label in labels if label.startswith(f"team_{machine}_")]
        assert len(runs_shown) == PAGE_SIZE, labels

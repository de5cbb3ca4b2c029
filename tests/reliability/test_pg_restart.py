"""PostgreSQL restarted in the middle of a team's load: pipelines on two machines and tile pins
keep writing while the server stops and starts again. Writers either wait it out or fail with a
readable zviz error; nothing is half-written; the app shows a notice during the outage, not a
traceback, and shows the runs again by itself once the server is back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.reliability.team_worker import (
    COOKIE_KEY,
    MACHINES,
    logged_in_app,
    open_page,
    write_auth_config,
)
from zviz_core import Client
from zviz_core.enums import ExecutionStatus
from zviz_core.errors import StoreUnavailableError
from zviz_core.store import forget_engines, open_engine
from zviz_testing import pg
from zviz_testing.factories import run_everything

ROOT = Path(__file__).resolve().parents[2]
WRITERS, RUNS_EACH, PINNERS, PINS_EACH = 2, 12, 2, 40
WORKER_LOCK_TIMEOUT_S = "10"  # reconnects are retried for this long, then fail readably
APP_LOCK_TIMEOUT_S = "2"  # short, so the app's notice shows within the outage
STORE_ERRORS = {"StoreError", "StoreUnavailableError", "StoreBusyError"}


@pytest.fixture(scope="module")
def own_server() -> Iterator[pg.PgServer]:
    """A server of this module's own, so stopping it disturbs no other test. Durable: an
    immediate stop (a crash, to the server) then keeps every commit it acknowledged, as a real
    server does; the session's fast server may lose the last ones."""
    try:
        server = pg.start_server(durable=True)
    except (RuntimeError, OSError) as exc:
        if os.environ.get(pg.REQUIRE_ENV) == "1":
            pytest.fail(f"PostgreSQL is required here ({pg.REQUIRE_ENV}=1): {exc}")
        pytest.skip(f"no PostgreSQL server for this test: {exc}")
    yield server
    forget_engines(close=True)
    server.stop("immediate")
    shutil.rmtree(server.datadir.parent, ignore_errors=True)


@pytest.fixture
def pg_only_store(
    own_server: pg.PgServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A fresh database on the test's own server (artifacts in a folder said to be shared)."""
    url = own_server.create_database()
    forget_engines(close=True)
    monkeypatch.setenv("ZVIZ_STORE_URL", url)
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", str(tmp_path / "artifacts"))
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE_SHARED", "1")
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", WORKER_LOCK_TIMEOUT_S)
    yield url
    forget_engines(close=True)


@pytest.fixture
def restart_store(
    own_server: pg.PgServer, s3_store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A fresh database on the test's own server, the artifacts in a fresh bucket, and the
    lead's login config (a team store's app requires logins)."""
    url = own_server.create_database()
    forget_engines(close=True)
    monkeypatch.setenv("ZVIZ_STORE_URL", url)
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(write_auth_config(tmp_path / "auth.yaml")))
    monkeypatch.setenv("ZVIZ_COOKIE_KEY", COOKIE_KEY)
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", APP_LOCK_TIMEOUT_S)
    yield url
    forget_engines(close=True)


def _spawn(tmp: Path, role: str, machine: str, index: int, stop: Path, count: int):
    env = {
        **os.environ,
        "ZVIZ_HOME": str(tmp / machine),
        "ZVIZ_LOCK_TIMEOUT": WORKER_LOCK_TIMEOUT_S,
    }
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


def _wait_for_runs(owner: Client, at_least: int) -> int:
    for _ in range(600):
        total = owner.list_pipeline_runs(size=1).total
        if total >= at_least:
            return total
        time.sleep(0.1)
    raise AssertionError(f"the writers did not get {at_least} runs in within a minute")


def _errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


@pytest.mark.slow
@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])
def test_a_restart_mid_load_loses_nothing_and_the_app_recovers(
    restart_store: str, own_server: pg.PgServer, tmp_path: Path, stop_mode: str
) -> None:
    owner = Client()
    seed = run_everything()
    model = owner.create_model("team-model-0")
    for step in seed.steps.values():
        owner.create_curated_visualization(step.output.visualizations[0].id, model.id, "model")

    stop = tmp_path / "stop"
    writers = [
        _spawn(tmp_path, "writer", MACHINES[i % 2], i, stop, RUNS_EACH) for i in range(WRITERS)
    ]
    pinners = [
        _spawn(tmp_path, "pinner", MACHINES[i % 2], i, stop, PINS_EACH) for i in range(PINNERS)
    ]
    try:
        st.cache_data.clear()
        at = logged_in_app()
        runs_before = _wait_for_runs(owner, at_least=4)
        own_server.stop(stop_mode)  # immediate: the server dies mid-transaction
        # During the outage the app shows a notice where the page would be, not a traceback.
        open_page(at, "runs")
        time.sleep(1)
        own_server.start()
        assert not at.exception, [e.value for e in at.exception]
        assert any("could not be reached" in e for e in _errors(at)), _errors(at)
        # Once the server is back, the same session shows the runs again on its next run.
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not _errors(at), _errors(at)
        assert any(str(c.value).startswith("Runs 1-") for c in at.caption)
        written = [_result(p) for p in writers]
        pinned = [_result(p) for p in pinners]
    finally:
        stop.touch()
        for proc in writers + pinners:
            if proc.poll() is None:
                proc.kill()

    completed = [run_id for r in written for run_id in r["completed"]]
    failures = [f for r in written + pinned for f in r["failed"]]
    retries = sum(r["retries"] for r in written + pinned)
    print(
        f"\nrestart ({stop_mode}): {runs_before} runs before the stop, {len(completed)} completed by "
        f"{WRITERS} writers, {sum(len(r['created']) for r in pinned)} pins; {retries} "
        f"retries; failures: {[(f['type'], f['message']) for f in failures]}"
    )
    for r in written + pinned:
        assert not r.get("problems"), r["problems"][:3]
    # The restart hit writers at work, and they waited it out or failed with a zviz error.
    assert runs_before < WRITERS * RUNS_EACH + 1
    assert retries > 0 or failures
    assert all(f["zviz"] and f["type"] in STORE_ERRORS for f in failures), failures[:3]

    # Every run a writer was told completed is there, whole; so is every completed run.
    store = owner.artifact_store
    runs = owner.list_pipeline_runs(size=200).items
    stored = {str(r.id): r for r in runs}
    assert set(completed) <= set(stored)
    for run in runs:
        if run.status is not ExecutionStatus.COMPLETED:
            assert str(run.id) not in completed
            continue
        run = owner.get_pipeline_run(run.id)
        assert run.steps and all(s.status is ExecutionStatus.COMPLETED for s in run.steps.values())
        if run.id != seed.id:
            assert set(run.steps) == {"frame", "report"}
    # No artifact version or visualization row points at a missing file.
    for page in range(1, 20):
        versions = owner.list_artifact_versions(page=page, size=100)
        for av in versions.items:
            assert store.exists(av.uri), av.uri
            for v in av.visualizations:
                assert store.exists(v.uri), v.uri
        if page * 100 >= versions.total:
            break

    # Every pin a worker was told about is there once; no pin is there twice.
    for r in pinned:
        for name, tile_id in r["created"].items():
            assert owner.get_curated_visualization(tile_id).display_name == name
    for m in owner.list_models(size=200).items:
        tiles = owner.list_curated_visualizations("model", m.id)
        if m.name != "team-model-0":
            assert len(tiles) <= 1, (m.name, [t.display_name for t in tiles])


def test_a_write_after_a_restart_gets_through_though_every_pooled_connection_died(
    pg_only_store: str, own_server: pg.PgServer
) -> None:
    owner = Client()
    owner.create_model("before")
    # Six units at once leave six connections in this process's pool.
    engine = open_engine()
    together = threading.Barrier(6)

    def hold(cur) -> int:
        together.wait(timeout=30)
        return cur.value("SELECT 1")

    threads = [threading.Thread(target=engine.read, args=(hold,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    own_server.stop("fast")  # the server drops all six
    own_server.start()
    owner.create_model("after")
    assert sorted(m.name for m in owner.list_models().items) == ["after", "before"]


def test_a_short_outage_is_waited_out_and_a_long_one_fails_readably(
    pg_only_store: str, own_server: pg.PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = Client()
    owner.create_model("before")
    own_server.stop("fast")
    restart = threading.Timer(1.0, own_server.start)
    restart.start()
    try:
        owner.create_model("during")  # ZVIZ_LOCK_TIMEOUT=10: waits for the server
    finally:
        restart.join(timeout=60)
    assert sorted(m.name for m in owner.list_models().items) == ["before", "during"]

    # Longer than ZVIZ_LOCK_TIMEOUT: a readable error that names the cause; nothing written.
    forget_engines(close=True)
    monkeypatch.setenv("ZVIZ_LOCK_TIMEOUT", "1")
    owner = Client()
    own_server.stop("fast")
    try:
        with pytest.raises(StoreUnavailableError) as failed:
            owner.create_model("lost")
    finally:
        own_server.start()
    message = str(failed.value)
    assert "could not be reached" in message and "nothing was written" in message
    assert "refused" in message.lower(), message
    assert sorted(m.name for m in owner.list_models().items) == ["before", "during"]

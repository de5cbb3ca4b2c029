"""Soak: 4 processes run 25 pipelines each while 5 AppTest sessions re-render dashboards and
2 sessions edit tiles, all on one store. Everything written must be there; nobody sees a lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zviz_core import Client
from zviz_core.enums import ExecutionStatus
from zviz_testing.factories import run_everything

WRITERS, RUNS_EACH, READERS, EDITORS, EDITS_EACH = 4, 25, 5, 2, 8
ROOT = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.soak_worker", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_many_writers_readers_and_editors_share_one_store(client: Client, tmp_path: Path) -> None:
    run = run_everything()
    viz = [v for s in run.steps.values() for v in s.output.visualizations][:3]
    for i in range(EDITORS):
        model = client.create_model(f"soak-model-{i}")
        for v in viz:
            client.create_curated_visualization(v.id, model.id, "model")
    stop = tmp_path / "stop"
    readers = [_spawn("reader", str(i), str(stop)) for i in range(READERS)]
    writers = [_spawn("writer", str(i), str(stop), str(RUNS_EACH)) for i in range(WRITERS)]
    editors = [_spawn("editor", str(i), str(stop), str(EDITS_EACH)) for i in range(EDITORS)]
    try:
        written = [_result(p) for p in writers]
        edited = [_result(p) for p in editors]
    finally:
        stop.touch()
    read = [_result(p) for p in readers]

    results = written + edited + read
    slowest = max(r["max_lock_wait_s"] for r in results)
    print(
        f"\nsoak: {sum(len(r['statuses']) for r in written)} runs by {WRITERS} processes, "
        f"{sum(r['renders'] for r in read)} dashboard renders by {READERS} sessions, "
        f"{EDITORS * EDITS_EACH} tile edits by {EDITORS} sessions; "
        f"{sum(r['lock_waits'] for r in results)} lock waits, slowest {slowest * 1000:.0f} ms"
    )
    for r in results:
        assert not r.get("problems"), r["problems"][:3]
    assert all(s == "completed" for r in written for s in r["statuses"])
    assert all(r["renders"] > 0 for r in read)

    owner = Client()
    runs = owner.list_pipeline_runs(size=1000)
    assert runs.total == WRITERS * RUNS_EACH + 1
    assert not [r for r in runs.items if r.status is not ExecutionStatus.COMPLETED]
    for r in edited:
        for tile_id, name in r["expected"].items():
            assert owner.get_curated_visualization(tile_id).display_name == name

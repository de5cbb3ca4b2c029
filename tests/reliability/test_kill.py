"""A pipeline process killed mid-step (SIGKILL): the store opens, the run reads as interrupted,
and every recorded artifact still has its files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from zviz_core import Client
from zviz_core.enums import ExecutionStatus

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    from zviz_core import pipeline, step

    marker = Path(sys.argv[1])

    @step
    def prepare() -> np.ndarray:
        return np.arange(1000)

    @step
    def train(data: np.ndarray) -> float:
        marker.write_text("training")
        time.sleep(60)
        return float(data.mean())

    @pipeline(name="doomed")
    def doomed():
        train(prepare())

    doomed()
    """
)


def test_sigkill_mid_step_leaves_an_interrupted_run(zviz_home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = tmp_path / "doomed.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(marker)], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the pipeline process died before reaching its second step"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # the first step's record is committed by the background writer
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    client = Client()
    runs = client.list_pipeline_runs()
    assert runs.total == 1
    run = client.get_pipeline_run(runs.items[0].id)
    assert run.status is ExecutionStatus.INTERRUPTED
    assert run.status.is_finished
    assert list(run.steps) == ["prepare"]
    prepared = run.steps["prepare"].output
    assert prepared.load().sum() == sum(range(1000))
    for av in client.list_artifact_versions(size=100).items:
        assert Path(av.uri).is_dir()
        for viz in av.visualizations:
            assert Path(viz.uri).is_file()
    # The store still takes writes after the crash.
    assert client.create_model("after-crash").name == "after-crash"

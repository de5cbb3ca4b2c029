"""Several processes on one store: concurrent writers, and a pipeline script beside a reader."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from tests.core.helpers import last_json_line, start_python
from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus

RUNS_PER_WRITER = 5

WRITER = """
import json, sys
from typing import Annotated
from zviz_core import Client, pipeline, step
from zviz_core.types import HTMLString

W, N = {writer}, {runs}

@step
def count(i: int) -> Annotated[int, "shared_count"]:
    return i

@step
def page(i: int) -> HTMLString:
    return HTMLString(f"<p>writer {{W}} run {{i}}</p>")

@pipeline(name="shared")
def work(i: int):
    page(count(i))

sys.stdin.readline()  # start together
client = Client()
runs, tiles = [], []
model = client.create_model(name=f"model-{{W}}")
project = client.active_project.id
for i in range(N):
    run = work(i)
    runs.append(str(run.id))
    viz = run.steps["page"].output.visualizations[0]
    tiles.append(str(client.create_curated_visualization(viz.id, model.id, "model", display_order=i).id))
    tiles.append(str(client.create_curated_visualization(viz.id, project, "project").id))
print(json.dumps({{"runs": runs, "tiles": tiles, "model": str(model.id)}}))
"""


def test_processes_writing_at_once_lose_nothing(zviz_home: Path) -> None:
    # The store does not exist yet: the writers also race to create it.
    writers = [
        start_python(WRITER.format(writer=w, runs=RUNS_PER_WRITER), zviz_home) for w in range(3)
    ]
    for proc in writers:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        results.append(last_json_line(out))

    client = Client()
    total = 3 * RUNS_PER_WRITER
    runs = client.list_pipeline_runs(size=100)
    assert runs.total == total
    assert {r.status for r in runs.items} == {ExecutionStatus.COMPLETED}
    assert {str(r.id) for r in runs.items} == {rid for res in results for rid in res["runs"]}
    assert [p.name for p in client.list_pipelines().items] == ["shared"]
    for res in results:
        for rid in res["runs"]:
            steps = client.get_pipeline_run(rid).steps
            assert list(steps) == ["count", "page"]
            assert steps["count"].output.id == steps["page"].inputs["i"].id
        tiles = client.list_curated_visualizations("model", res["model"])
        assert [t.display_order for t in tiles] == list(range(RUNS_PER_WRITER))
        for tile_id in res["tiles"]:
            assert client.get_curated_visualization(tile_id).id
    project_tiles = client.list_curated_visualizations("project", client.active_project.id)
    assert len(project_tiles) == total
    # One artifact name shared by all writers: every version number given out exactly once.
    versions = client.list_artifact_versions(artifact_name="shared_count", size=100)
    assert sorted(v.version for v in versions.items) == list(range(1, total + 1))
    assert len({m.name for m in client.list_models().items}) == 3


SCRIPT = """
import sys
import numpy as np
from zviz_core import pipeline, step
from zviz_core.types import HTMLString

@step
def image(i: int) -> np.ndarray:
    return np.full((16, 16, 3), i * 20, dtype=np.uint8)

@step
def report(i: int) -> HTMLString:
    return HTMLString(f"<h1>{i}</h1>")

@step
def values(i: int) -> list:
    return list(range(i))

@pipeline
def scripted(i: int):
    image(i)
    report(i)
    values(i)

sys.stdin.readline()
for i in range(N_RUNS):
    scripted(i)
"""

READER = """
import json, os, sys
from zviz_core import Client

done_file = sys.argv[1] if len(sys.argv) > 1 else {done!r}
client = Client()
loops = loaded = overlapping = 0
completed = set()
print("ready", flush=True)
while True:
    finished = os.path.exists(done_file)
    for run in client.list_pipeline_runs(size=50).items:
        full = client.get_pipeline_run(run.id)
        for step in full.steps.values():
            for versions in step.outputs.values():
                for av in versions:
                    for viz in av.visualizations:
                        assert client.load_visualization(viz.id).value
                        loaded += 1
        if full.status.value == "completed":
            completed.add(str(run.id))
    loops += 1
    overlapping += not finished
    if finished:
        break
print(json.dumps({{"loops": loops, "loaded": loaded, "overlapping": overlapping,
                   "completed": sorted(completed)}}))
"""


def test_pipeline_script_and_reader_at_the_same_time(zviz_home: Path) -> None:
    runs = 6
    Client().list_models()  # the store exists before either starts
    done = zviz_home / "writer.done"
    reader = start_python(READER.format(done=str(done)), zviz_home)
    assert reader.stdout.readline().strip() == "ready"
    writer = start_python(SCRIPT.replace("N_RUNS", str(runs)), zviz_home)
    writer.stdin.write("go\n")
    writer.stdin.flush()
    try:
        _, w_err = writer.communicate(timeout=120)
    finally:
        done.write_text("done")
    r_out, r_err = reader.communicate(timeout=120)
    assert writer.returncode == 0, w_err
    assert reader.returncode == 0, r_err
    assert "Traceback" not in w_err and "Traceback" not in r_err
    seen = last_json_line(r_out)
    assert seen["overlapping"] >= 1
    client = Client()
    page = client.list_pipeline_runs(size=50)
    assert page.total == runs
    assert sorted(str(r.id) for r in page.items) == seen["completed"]
    assert seen["loaded"] >= runs * 3


# -- multiprocessing: a forked child uses the store the parent already used --------------------


@step
def square(x: int) -> int:
    return x * x


@pipeline
def squaring(x: int) -> None:
    square(x)


def _child_run(x: int, out: str) -> None:
    run = squaring(x)
    result = {"id": str(run.id), "value": run.steps["square"].output.load()}
    Path(out).write_text(json.dumps(result))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_forked_workers_share_the_store(client: Client, tmp_path: Path) -> None:
    squaring(1)  # the parent has used the store before forking
    ctx = multiprocessing.get_context("fork")
    children = []
    for x in (2, 3, 4):
        out = tmp_path / f"child-{x}.json"
        proc = ctx.Process(target=_child_run, args=(x, str(out)))
        proc.start()
        children.append((proc, out))
    for proc, _ in children:
        proc.join(timeout=60)
        assert proc.exitcode == 0, f"a forked worker ended with exit code {proc.exitcode}"
    results = [json.loads(out.read_text()) for _, out in children]
    assert [r["value"] for r in results] == [4, 9, 16]
    assert client.list_pipeline_runs().total == 4
    for r in results:
        assert client.get_pipeline_run(r["id"]).status == ExecutionStatus.COMPLETED
    assert squaring(5).steps["square"].output.load() == 25


def test_a_run_that_is_running_in_another_process_is_seen_running(
    client: Client, zviz_home: Path
) -> None:
    slow = start_python(
        """
        import sys
        from zviz_core import pipeline, step

        @step
        def first() -> int:
            return 1

        @step
        def wait(x: int) -> int:
            print("inside", flush=True)
            sys.stdin.readline()
            return x

        @pipeline
        def paused():
            wait(first())

        paused()
        """,
        zviz_home,
    )
    try:
        assert slow.stdout.readline().strip() == "inside"
        run = client.list_pipeline_runs().items[0]
        assert run.status == ExecutionStatus.RUNNING
        # Step records may be written in the background: wait (boundedly) for the first one.
        deadline = time.monotonic() + 30
        while not client.get_pipeline_run(run.id).steps and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(client.get_pipeline_run(run.id).steps) == ["first"]
        assert client.get_pipeline_run(run.id).status == ExecutionStatus.RUNNING
        slow.stdin.write("go\n")
        slow.stdin.flush()
        assert slow.wait(timeout=60) == 0
    finally:
        if slow.poll() is None:
            slow.kill()
    assert client.get_pipeline_run(run.id).status == ExecutionStatus.COMPLETED


def test_the_runs_list_sees_a_run_interrupted_when_its_process_dies_without_a_write(
    client: Client, zviz_home: Path
) -> None:
    # Nothing is written when a process dies, so nothing tells the read cache: the list read
    # while the run was alive must not keep saying "running".
    dying = start_python(
        """
        import os, sys
        from zviz_core import pipeline, step

        @step
        def wait() -> int:
            print("inside", flush=True)
            sys.stdin.readline()
            os._exit(3)

        @pipeline
        def doomed():
            wait()

        doomed()
        """,
        zviz_home,
    )
    try:
        assert dying.stdout.readline().strip() == "inside"
        time.sleep(1.5)  # the step's own "started" record is queued after a second: let it land
        [run] = client.list_pipeline_runs().items
        assert run.status == ExecutionStatus.RUNNING
        assert client.list_pipeline_runs().items[0].status == ExecutionStatus.RUNNING
        dying.stdin.write("go\n")
        dying.stdin.flush()
        assert dying.wait(timeout=60) == 3
    finally:
        if dying.poll() is None:
            dying.kill()
    assert client.list_pipeline_runs().items[0].status == ExecutionStatus.INTERRUPTED
    assert client.get_pipeline_run(run.id).status == ExecutionStatus.INTERRUPTED


def test_a_run_whose_process_died_is_interrupted(client: Client, zviz_home: Path) -> None:
    dying = start_python(
        """
        import os
        from zviz_core import pipeline, step

        @step
        def die() -> int:
            os._exit(3)

        @pipeline
        def doomed():
            die()

        doomed()
        """,
        zviz_home,
    )
    assert dying.wait(timeout=60) == 3
    run = client.list_pipeline_runs().items[0]
    assert run.status == ExecutionStatus.INTERRUPTED
    assert run.status.is_finished

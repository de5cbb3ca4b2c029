"""Failed runs you can debug: a failed step keeps its whole traceback, and every step's stdout,
stderr and log records are kept in its run's folder of the artifact store (issue 14, section 3)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.core.access.conftest import write_config
from tests.core.helpers import start_python
from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus
from zviz_core.errors import ArtifactPathError, EntityNotFoundError
from zviz_core.pipelines import logs as step_logs
from zviz_core.pipelines.pipeline import current_run

log = logging.getLogger("tests.step_logs")


def _deep_failure(depth: int) -> None:
    if depth == 0:
        raise LookupError("no row 17 in the training table")
    _deep_failure(depth - 1)


@step
def talkative() -> int:
    print("loading 120 rows")
    print("2 rows had no label", file=sys.stderr)
    log.warning("class balance is 9:1")
    return 120


@step
def quiet(rows: int) -> int:
    return rows + 1


@step
def crashes(rows: int) -> int:
    print(f"training on {rows} rows")
    try:
        _deep_failure(3)
    except LookupError as exc:
        raise RuntimeError("training failed") from exc
    return 0


@pipeline
def debuggable() -> None:
    crashes(quiet(talkative()))


def _failed_run(client: Client):
    with pytest.raises(RuntimeError, match="training failed"):
        debuggable()
    return client.get_pipeline_run(client.list_pipeline_runs().items[0].id)


def test_a_failed_step_keeps_its_whole_traceback(client: Client) -> None:
    run = _failed_run(client)
    failed = run.steps["crashes"]
    assert failed.status is ExecutionStatus.FAILED
    error = failed.error
    assert error.startswith("Traceback (most recent call last):")
    # Every frame of the user's code, the chained cause, and the final error.
    assert "in crashes" in error and error.count("in _deep_failure") == 4
    assert "LookupError: no row 17 in the training table" in error
    assert "The above exception was the direct cause" in error
    assert error.rstrip().endswith("RuntimeError: training failed")
    # zviz's own runner is not part of what the user has to read.
    assert "run_step" not in error
    # The run states which step failed and how, in one line.
    assert run.error == "Step 'crashes' failed: RuntimeError: training failed"


def test_each_step_keeps_what_it_printed_and_logged(client: Client) -> None:
    run = _failed_run(client)
    first = client.get_step_log(run.steps["talkative"])
    assert first is not None
    assert "loading 120 rows" in first
    assert "2 rows had no label" in first
    assert "class balance is 9:1" in first
    assert first.count("class balance is 9:1") == 1
    # A step that printed nothing has no log.
    assert client.get_step_log(run.steps["quiet"]) is None
    failed = client.get_step_log(run.steps["crashes"])
    assert "training on 121 rows" in failed
    assert "RuntimeError: training failed" in failed
    # Each log is one file inside its run's own folder.
    uri = client.step_log_uri(run.steps["talkative"])
    assert Path(uri).is_file()
    assert Path(uri).parent.parent == Path(client.artifact_store.root) / str(run.id)


def test_logs_configured_to_print_are_kept_once(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    @step
    def configured() -> None:
        handler = logging.StreamHandler(sys.stderr)
        log.addHandler(handler)
        try:
            log.warning("printed by its own handler")
        finally:
            log.removeHandler(handler)

    @pipeline
    def with_handler() -> None:
        configured()

    run = with_handler()
    text = client.get_step_log(run.steps["configured"])
    assert text.count("printed by its own handler") == 1
    # The console still shows everything, as it did before capture.
    assert "printed by its own handler" in capsys.readouterr().err


def test_a_long_log_keeps_its_first_and_last_part(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(step_logs, "KEEP_CHARS", 1000)

    @step
    def chatty() -> None:
        for i in range(500):
            print(f"line {i:04d}")

    @pipeline
    def long_log() -> None:
        chatty()

    run = long_log()
    text = client.get_step_log(run.steps["chatty"])
    assert text.startswith("line 0000\n")
    assert text.rstrip().endswith("line 0499")
    assert "line 0250" not in text
    assert "characters left out here" in text
    assert len(text) < 2 * 1000 + 200


def test_a_log_that_cannot_be_written_never_fails_the_step(client: Client) -> None:
    @step
    def blocks_its_log() -> int:
        # A file where the run's folder should be: the log cannot be written there.
        context = current_run()
        in_the_way = Path(client.artifact_store.run_folder(context.run_id))
        in_the_way.parent.mkdir(parents=True, exist_ok=True)
        in_the_way.write_text("in the way")
        print("this line is lost")
        return 5

    @pipeline
    def blocked() -> None:
        blocks_its_log()

    run = blocked()
    assert run.status is ExecutionStatus.COMPLETED
    assert run.steps["blocks_its_log"].output.load() == 5


def test_a_broken_log_record_is_not_kept_and_raises_nothing(client: Client) -> None:
    bad = logging.LogRecord("x", logging.ERROR, __file__, 1, "%d rows", ("many",), None)
    good = logging.LogRecord("x", logging.ERROR, __file__, 1, "%d rows", (3,), None)
    with step_logs.capturing() as captured:
        handler = next(
            h for h in logging.getLogger().handlers if isinstance(h, step_logs._StepLogHandler)
        )
        handler.emit(bad)
        handler.emit(good)
    assert "3 rows" in captured.text() and "many" not in captured.text()


def test_pipelines_in_two_threads_keep_their_own_logs(client: Client) -> None:
    together = threading.Barrier(2, timeout=30)
    apple_done = threading.Event()

    @step
    def speaker(word: str) -> str:
        together.wait()  # both steps print at the same time
        for i in range(30):
            print(f"{word} {i}")
            time.sleep(0.002)
        return word

    @pipeline
    def speak(word: str) -> None:
        speaker(word)
        if word == "pear":
            # Pipelines finishing at the same moment in one process race in the store's
            # background queue (a separate problem): this test is about the logs.
            apple_done.wait(30)

    runs = {}

    def go(word: str) -> None:
        with client.activated():
            runs[word] = speak(word)
        if word == "apple":
            apple_done.set()

    threads = [threading.Thread(target=go, args=(w,)) for w in ("apple", "pear")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for word, other in (("apple", "pear"), ("pear", "apple")):
        text = client.get_step_log(runs[word].steps["speaker"])
        assert text.count(word) == 30
        assert other not in text


def test_deleting_the_run_deletes_its_logs(client: Client) -> None:
    run = _failed_run(client)
    folder = Path(client.artifact_store.run_folder(run.id))
    assert folder.is_dir()
    client.delete_pipeline_run(run.id)
    assert not folder.exists()


def test_a_run_folder_leading_outside_the_store_is_not_read(client: Client, tmp_path: Path) -> None:
    run = _failed_run(client)
    outside = tmp_path / "elsewhere"
    folder = Path(client.artifact_store.run_folder(run.id))
    folder.rename(outside)
    os.symlink(outside, folder)
    with pytest.raises(ArtifactPathError, match="outside"):
        client.get_step_log(run.steps["talkative"])


def test_logs_follow_the_access_rules(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _failed_run(client)
    config = write_config(
        tmp_path / "auth.yaml",
        {"alice": ["admin"], "bob": ["viewer"]},
        {"admin": {"read": ["*"], "write": ["*"]}, "viewer": {"read": ["pipeline:other"]}},
    )
    monkeypatch.setenv("ZVIZ_AUTH_CONFIG", str(config))
    step_id = run.steps["talkative"].id
    assert "loading 120 rows" in Client(user="alice").get_step_log(step_id)
    with pytest.raises(EntityNotFoundError):
        Client(user="bob").get_step_log(step_id)
    with pytest.raises(EntityNotFoundError):
        Client(user="bob").get_step_log(run.steps["talkative"])


def test_a_long_step_shows_running_with_its_log_as_it_goes(client: Client) -> None:
    seen = threading.Event()

    @step
    def slow(x: int) -> int:
        print("halfway there")
        assert seen.wait(30), "the test never saw this step running"
        print("done")
        return x

    @step
    def quick() -> int:
        return 1

    @pipeline
    def patient() -> None:
        slow(quick())

    done: dict[str, object] = {}

    def go() -> None:
        with client.activated():
            done["run"] = patient()

    worker = threading.Thread(target=go)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        live = None
        while time.monotonic() < deadline:
            runs = client.list_pipeline_runs().items
            if runs:
                steps = client.get_pipeline_run(runs[0].id).steps
                running = steps.get("slow")
                if running is not None and running.status is ExecutionStatus.RUNNING:
                    text = client.get_step_log(running)
                    if text and "halfway there" in text:
                        live = (steps, text)
                        break
            time.sleep(0.1)
    finally:
        seen.set()
        worker.join(30)
    assert live is not None, "the running step and its log never showed"
    steps, text = live
    assert steps["quick"].status is ExecutionStatus.COMPLETED
    assert list(steps["slow"].inputs) == ["x"] and steps["slow"].end_time is None
    assert "done" not in text
    run = client.get_pipeline_run(done["run"].id)
    assert run.steps["slow"].status is ExecutionStatus.COMPLETED
    assert run.steps["slow"].output.load() == 1
    final = client.get_step_log(run.steps["slow"])
    assert final == "halfway there\ndone\n"


def test_a_quick_step_is_recorded_once_when_it_ends(client: Client) -> None:
    @step
    def instant() -> int:
        print("at once")
        return 2

    @pipeline
    def brisk() -> None:
        instant()

    run = brisk()
    instant_step = run.steps["instant"]
    assert instant_step.status is ExecutionStatus.COMPLETED
    assert client.get_step_log(instant_step) == "at once\n"


def test_a_step_cut_off_by_a_killed_process_reads_interrupted(
    client: Client, zviz_home: Path
) -> None:
    child = start_python(
        """
        import time
        from zviz_core import pipeline, step

        @step
        def forever() -> int:
            print("started the long part", flush=True)
            time.sleep(600)
            return 0

        @pipeline
        def endless() -> None:
            forever()

        endless()
        """,
        zviz_home,
    )
    try:
        deadline = time.monotonic() + 60
        step_run = None
        while time.monotonic() < deadline and step_run is None:
            runs = client.list_pipeline_runs().items
            steps = client.get_pipeline_run(runs[0].id).steps if runs else {}
            if "forever" in steps and client.get_step_log(steps["forever"]):
                step_run = steps["forever"]
            time.sleep(0.2)
        assert step_run is not None and step_run.status is ExecutionStatus.RUNNING
    finally:
        child.kill()
        child.wait(30)
    run = client.get_pipeline_run(step_run.run_id)
    assert run.status is ExecutionStatus.INTERRUPTED
    assert run.steps["forever"].status is ExecutionStatus.INTERRUPTED
    assert client.get_step_log(run.steps["forever"]) == "started the long part\n"

"""Background writes from several threads of one process: each thread's writes land, each
thread hears only of its own failures, and a flush returns only once its writes have landed."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus
from zviz_core.store.engine import Cursor, Engine


def _add_project(name: str, ran: threading.Event | None = None) -> Callable[[Cursor], None]:
    def write(cur: Cursor) -> None:
        cur.execute(
            "INSERT INTO projects (id, name, created) VALUES ($id, $n, $t)",
            {"id": uuid.uuid4(), "n": name, "t": datetime.now(UTC).replace(tzinfo=None)},
        )
        if ran is not None:
            ran.set()

    return write


def _fail(cur: Cursor) -> None:
    raise RuntimeError("thread A's write failed")


def _project_names(client: Client) -> set[str]:
    return {p.name for p in client.list_projects().items}


def _hold_the_writer(engine: Engine) -> threading.Event:
    """Keep the writer thread busy until the returned event is set, so that writes queued
    meanwhile are committed together in its next unit."""
    release, holding = threading.Event(), threading.Event()

    def hold(cur: Cursor) -> None:
        holding.set()
        release.wait(30)

    engine.write_in_background(hold)
    assert holding.wait(30)
    return release


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_one_threads_failed_write_neither_undoes_nor_reports_on_anothers(client: Client) -> None:
    engine = client.store.engine
    release = _hold_the_writer(engine)
    queued = threading.Barrier(3)

    def thread_a() -> None:
        engine.write_in_background(_fail)
        queued.wait(30)
        engine.flush_background()

    def thread_b() -> None:
        engine.write_in_background(_add_project("from-b"))
        queued.wait(30)
        engine.flush_background()

    (a, a_out), (b, b_out) = _in_thread(thread_a), _in_thread(thread_b)
    queued.wait(30)  # both writes wait behind the held writer: one unit will hold both
    release.set()
    a.join(30)
    b.join(30)
    engine.flush_background()
    assert isinstance(a_out.get("error"), RuntimeError), a_out
    assert "error" not in b_out, b_out
    assert "from-b" in _project_names(client)
    # Thread A heard of its failure once; its next write goes ahead.
    a2, a2_out = _in_thread(
        lambda: (engine.write_in_background(_add_project("a-again")), engine.flush_background())
    )
    a2.join(30)
    assert "error" not in a2_out and "a-again" in _project_names(client)


def test_a_flush_waits_for_its_write_even_while_another_thread_is_flushing(
    client: Client,
) -> None:
    engine = client.store.engine
    release = _hold_the_writer(engine)
    ran, queued, flushing = threading.Event(), threading.Event(), threading.Event()

    def thread_b() -> bool:
        engine.write_in_background(_add_project("from-b", ran))
        queued.set()
        flushing.wait(30)
        engine.flush_background()
        return ran.is_set()

    try:
        # Thread B queues a write; thread M starts waiting for everything queued so far; then
        # B flushes: its flush may not return before its write has run, whoever else waits.
        b, b_out = _in_thread(thread_b)
        assert queued.wait(30)
        m, _ = _in_thread(engine.flush_background)
        time.sleep(0.3)
        flushing.set()
        time.sleep(0.3)
    finally:
        release.set()
    b.join(30)
    m.join(30)
    assert b_out == {"value": True}, b_out
    assert "from-b" in _project_names(client)


def test_pipelines_run_in_several_threads_at_once_each_record_their_steps(
    client: Client,
) -> None:
    @step
    def load(n: int) -> int:
        return n

    @step
    def double(x: int) -> int:
        return 2 * x

    @step
    def total(x: int, y: int) -> int:
        return x + y

    @pipeline
    def threaded(n: int) -> None:
        first = load(n)
        total(first, double(first))

    threads = [_in_thread(lambda n=n: threaded(n)) for n in range(6)]
    for thread, _ in threads:
        thread.join(120)
    assert [out.get("error") for _, out in threads] == [None] * 6
    for n, (_, out) in enumerate(threads):
        run = client.get_pipeline_run(out["value"].id)
        assert run.status == ExecutionStatus.COMPLETED
        assert list(run.steps) == ["load", "double", "total"]
        assert run.steps["total"].output.load() == 3 * n

"""Sorting runs by a metric: one page of the runs list of a 100,000-run pipeline, ordered by a
metric, against the runs page's 0.3 s target (issue 12). DuckDB store, read cache off.

    .venv/bin/python bench/metric_sort.py [--runs 100000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fill_store import _bump_token, fill  # noqa: E402
from zviz_core.store.db import DB_FILE  # noqa: E402

TARGET_S = 0.3
METRICS = ("evaluate.metrics.accuracy", "evaluate.metrics.loss", "evaluate.metrics.f1")


def add_metrics(home: Path) -> int:
    """Give every run three metrics (as the evaluate step's JSON output would); returns rows."""
    con = duckdb.connect(str(home / DB_FILE))
    try:
        for name in METRICS:
            con.execute(
                "INSERT INTO run_metadata (run_id, pipeline_id, step_name, name, number, value, "
                "source, created) SELECT id, pipeline_id, 'evaluate', ?, n, CAST(n AS VARCHAR), "
                "'output', created FROM (SELECT id, pipeline_id, created, random() AS n "
                "FROM pipeline_runs)",
                [name],
            )
        return int(con.execute("SELECT count(*) FROM run_metadata").fetchone()[0])
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--postgres", action="store_true", help="also copy the store into a PostgreSQL server"
    )
    args = parser.parse_args(argv)
    os.environ["ZVIZ_READ_CACHE"] = "0"
    os.environ["ZVIZ_DEMO"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        t0 = time.perf_counter()
        fill(home, runs=args.runs, artifact_versions=1000, tiles=0, pipelines=1)
        rows = add_metrics(home)
        _bump_token(home)
        print(
            f"filled {args.runs:,} runs, {rows:,} metric rows in {time.perf_counter() - t0:.1f} s"
        )
        from zviz_core import Client

        _measure("DuckDB", Client(home=home), args)
        if args.postgres:
            from zviz_core.store import forget_engines
            from zviz_core.store.copy import copy_store
            from zviz_testing import pg

            server = pg.start_server(durable=True)
            try:
                url = server.create_database()
                forget_engines(close=True)
                copy_store(str(home), url)
                forget_engines(close=True)
                import psycopg

                with psycopg.connect(url, autocommit=True) as con:
                    con.execute("VACUUM ANALYZE")
                os.environ["ZVIZ_ARTIFACT_STORE_SHARED"] = "1"  # one machine: the folder is shared
                client = Client(store_url=url, artifact_store=str(home / "artifacts"))
                _measure("PostgreSQL", client, args)
                forget_engines(close=True)
            finally:
                server.destroy()
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


def _measure(engine: str, client: Any, args: argparse.Namespace) -> None:
    """Print the sort, columns, names and chart figures of one engine's store."""
    pipeline = client.list_pipelines(size=1).items[0]
    client.list_pipeline_runs(pipeline_id=pipeline.id, size=20)  # open the store once
    figures = {}
    for label, metric, page in (
        ("first page, best first", METRICS[0], 1),
        ("page 500, best first", METRICS[0], 500),
        ("first page, loss lowest first", METRICS[1], 1),
    ):
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = client.list_pipeline_runs(
                pipeline_id=pipeline.id, sort_by_metric=metric, page=page, size=20
            )
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        assert result.total == args.runs and len(result.items) == 20
        figures[label] = (times, cpu)
        metrics = client.get_run_metrics([r.id for r in result.items], list(METRICS))
        assert len(metrics) == 20
    start = time.perf_counter()
    for _ in range(args.repeat):
        client.get_run_metrics([r.id for r in result.items], list(METRICS))
    columns_s = (time.perf_counter() - start) / args.repeat
    start = time.perf_counter()
    for _ in range(args.repeat):
        names = client.list_metric_names(pipeline.id)
    names_s = (time.perf_counter() - start) / args.repeat
    assert set(names) == set(METRICS)
    start = time.perf_counter()
    for _ in range(args.repeat):
        points = client.metric_history(pipeline.id, METRICS[0])
    history_s = (time.perf_counter() - start) / args.repeat
    assert len(points) == 1000
    print(f"\nsort {args.runs:,} runs of one pipeline by a metric ({engine}, read cache off)")
    print(f"{'case':32} | median s | max s | this process's CPU s | target s | result")
    for label, (times, cpu) in figures.items():
        median = statistics.median(times)
        verdict = "PASS" if median <= TARGET_S else "FAIL"
        print(
            f"{label:32} | {median:8.3f} | {max(times):5.3f} | {statistics.median(cpu):20.3f} | "
            f"{TARGET_S:8.1f} | {verdict}"
        )
    print(f"{'+ 3 metric columns of the page':32} | {columns_s:8.3f} | (mean)")
    print(f"{'metric names of the pipeline':32} | {names_s:8.3f} | (mean)")
    print(f"{'chart: 1,000 newest points':32} | {history_s:8.3f} | (mean)")


if __name__ == "__main__":
    raise SystemExit(main())

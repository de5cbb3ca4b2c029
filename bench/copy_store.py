"""Time `python -m zviz_core.store copy` on a 100,000-run store, DuckDB -> PostgreSQL and back, against issue 9's 60 s target, as one table."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import table  # bench/ is on sys.path: these files run as scripts
from table import fmt, load_average

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import fill_store  # noqa: E402

from zviz_core.store.copy import COPIED_TABLES  # noqa: E402
from zviz_testing import pg  # noqa: E402

TARGET_S = 60.0


@dataclass(frozen=True)
class Sizes:
    """The store to copy; `--quick` shrinks it."""

    runs: int = 100_000
    versions: int = 1_000_000
    tiles: int = 10_000


QUICK = Sizes(runs=5_000, versions=50_000, tiles=500)


@dataclass
class Copy:
    """One timed copy: wall time of the CLI process, its exit code, and its printed counts."""

    seconds: float
    returncode: int
    counts: dict[str, tuple[str, str]]
    stderr: str


def progress(message: str) -> None:
    """One progress line on stderr (the table goes to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_copy(source: str, destination: str) -> Copy:
    """Run the copy command in a fresh interpreter (imports included) and time it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "zviz_core.store", "copy", "--quiet", source, destination],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    counts = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 3 and cells[0] in COPIED_TABLES:
            counts[cells[0]] = (cells[1], cells[2])
    return Copy(seconds, done.returncode, counts, done.stderr)


def verdict(result: Copy) -> str:
    """PASS when the copy succeeded, copied every row and took at most the target."""
    complete = len(result.counts) == len(COPIED_TABLES) and all(
        a == b for a, b in result.counts.values()
    )
    ok = result.returncode == 0 and complete and result.seconds <= TARGET_S
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    """Fill the store, start PostgreSQL, copy both ways, print the table; returns the exit code
    (1 with --strict when a target fails)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 5,000-run store (smoke test)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    loads: dict[str, float | None] = {"start": load_average()}
    with tempfile.TemporaryDirectory(prefix="zviz-bench-copy-") as tmp:
        work = Path(tmp)
        progress(f"filling a store of {sizes.runs:,} runs")
        filled = fill_store.fill(work / "source", sizes.runs, sizes.versions, sizes.tiles)
        progress("starting PostgreSQL (fsync on, as a user's server)")
        server = pg.start_server(durable=True)
        try:
            url = server.create_database()
            loads["before copies"] = load_average()
            progress("copying DuckDB -> PostgreSQL")
            there = run_copy(str(filled.home), url)
            loads["after DuckDB -> PostgreSQL"] = load_average()
            progress("copying PostgreSQL -> DuckDB")
            back = run_copy(url, str(work / "back"))
            loads["after PostgreSQL -> DuckDB"] = load_average()
        finally:
            server.stop("fast")
            shutil.rmtree(server.datadir.parent, ignore_errors=True)
    store = f"{sizes.runs:,} runs, {sizes.versions:,} versions, {sizes.tiles:,} tiles"
    rows = [
        (f"copy DuckDB -> PostgreSQL ({store})", fmt(there.seconds, "s"), f"<= {TARGET_S:g} s"),
        (f"copy PostgreSQL -> DuckDB ({store})", fmt(back.seconds, "s"), f"<= {TARGET_S:g} s"),
        ("fill_store.fill (the source store)", fmt(filled.seconds, "s"), "information"),
    ]
    verdicts = [verdict(there), verdict(back), "-"]
    print(
        table.render(
            ("figure", "zviz", "target", "result"),
            [(*row, v) for row, v in zip(rows, verdicts, strict=True)],
        )
    )
    print()
    cores = os.cpu_count() or 1
    shown = ", ".join(f"{k} {'?' if x is None else f'{x:.1f}'}" for k, x in loads.items())
    busy = any(x is not None and x > cores for x in loads.values())
    notes = [
        f"machine: {cores} cores, Python {platform.python_version()}; "
        f"mode: {'quick (smoke sizes, not comparable)' if args.quick else 'full'}",
        f"load average (1 min): {shown}"
        + ("; ABOVE the core count: other work shared the CPUs" if busy else ""),
        "each figure is the wall time of `python -m zviz_core.store copy --quiet SRC DST` in a "
        "fresh interpreter (imports, schema creation, the one-transaction write, DuckDB's "
        "checkpoint and the final counts included)",
        f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1, started by zviz_testing/pg.py with "
        "fsync and synchronous commits on; artifact files are not copied (no --artifacts)",
        "rows copied: "
        + ", ".join(f"{t} {there.counts.get(t, ('?', '?'))[1]}" for t in COPIED_TABLES),
    ]
    for name, result in (("DuckDB -> PostgreSQL", there), ("PostgreSQL -> DuckDB", back)):
        if result.returncode != 0 or (verdict(result) == "FAIL" and result.seconds <= TARGET_S):
            notes.append(
                f"PROBLEM: {name} exited {result.returncode}, counts {result.counts}: "
                f"{result.stderr.strip()[-800:]}"
            )
    for line in notes:
        print(f"  {line}")
    return 1 if args.strict and "FAIL" in verdicts else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure zviz on DuckDB and on PostgreSQL against the performance targets of issues 2 and 9,
beside ZenML 0.98 (when installed) and beside DuckDB at a baseline revision, as one table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fairness
import table  # bench/ is on sys.path: these files run as scripts
from table import fmt, load_average

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DEFAULT_ZENML_PYTHON = Path("/work/zenml-venv/bin/python")
# "No slower than today" on DuckDB is judged against this revision of zviz_core, measured in the
# same run from `git archive` (the store as issue 9's speed work found it). --baseline overrides.
DEFAULT_BASELINE = "0ef7fca"
# Same code measured twice in one run differs by up to ~10 % on a shared 2-core machine.
BASELINE_SLACK = 1.15

# The same three steps as bench/zenml_side.py, written to a file so that a fresh interpreter can
# run it (`python file.py`) and the in-process worker can load it.
PIPELINE_SOURCE = '''"""zviz's benchmark pipeline: a DataFrame, an HTML report on it, and an image."""

import numpy as np
import pandas as pd
from PIL import Image

from zviz_core import pipeline, step
from zviz_core.types import HTMLString


@step
def make_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((1000, 5)), columns=list("abcde"))


@step
def make_report(df: pd.DataFrame) -> HTMLString:
    return HTMLString(f"<h1>Report</h1><p>{len(df)} rows</p>{df.describe().to_html()}")


@step
def make_image() -> Image.Image:
    return Image.new("RGB", (64, 64), color=(200, 80, 40))


@pipeline(enable_cache=False)
def bench_pipeline() -> None:
    make_report(make_frame())
    make_image()


if __name__ == "__main__":
    bench_pipeline()
'''


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does; `--quick` shrinks everything."""

    imports: int = 5
    inproc: int = 15
    fresh: int = 5
    curated: int = 100
    lists: int = 50
    small_store: tuple[int, int, int] = (1_000, 10_000, 100)
    big_store: tuple[int, int, int] = (100_000, 1_000_000, 10_000)
    fair_steps: int = 400
    curated_rounds: int = 4
    list_rounds: int = 3


QUICK = Sizes(
    fair_steps=30,
    imports=1,
    inproc=3,
    fresh=1,
    curated=5,
    lists=5,
    small_store=(100, 400, 10),
    big_store=(1_000, 4_000, 40),
    list_rounds=2,
)


@dataclass
class Row:
    """One line of the printed table: one figure on one engine."""

    figure: str
    engine: str
    unit: str
    zviz: float | None
    zenml: float | None = None
    baseline: float | None = None
    target: str = "info"
    result: str = "-"

    @property
    def vs_zenml(self) -> str:
        """ZenML / zviz: how many times faster zviz is."""
        return f"{self.zenml / self.zviz:.1f}x" if self.zenml and self.zviz else "-"

    @property
    def vs_baseline(self) -> str:
        """zviz / baseline: above 1 is slower than the baseline revision."""
        return f"{self.zviz / self.baseline:.2f}x" if self.baseline and self.zviz else "-"


def progress(message: str) -> None:
    """One progress line on stderr (the table goes to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


# -- workers: each runs in its own interpreter so that the cache setting and imports are fresh --


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def worker_pipeline(script: Path, n: int) -> dict[str, Any]:
    """Run the pipeline once to warm up, then `n` timed runs in this process."""
    import zviz_core
    from zviz_core import Client

    namespace = runpy.run_path(str(script), run_name="zviz_bench_pipeline")
    bench_pipeline = namespace["bench_pipeline"]
    run = bench_pipeline()
    assert len(run.steps) == 3, run.steps
    times = [_timed(bench_pipeline)[0] for _ in range(n)]
    # A baseline from before the PostgreSQL engine has no Client.store: it is DuckDB.
    engine = getattr(getattr(Client(), "store", None), "kind", "duckdb")
    return {"times": times, "module": zviz_core.__file__, "engine": engine}


def worker_curated(n: int) -> dict[str, Any]:
    """Time create / get(hydrate) / update / delete of a tile, each call separately, n times."""
    from zviz_core import Client
    from zviz_core.enums import CuratedVisualizationSize, VisualizationResourceTypes

    client = Client()
    run = client.list_pipeline_runs(size=1).items[0]
    viz_id = run.steps["make_frame"].output.visualizations[0].id
    pipeline_id = run.pipeline.id
    times: dict[str, list[float]] = {"create": [], "get": [], "update": [], "delete": []}
    warmup = 3
    for i in range(n + warmup):
        t0 = time.perf_counter()
        created = client.create_curated_visualization(
            artifact_visualization_id=viz_id,
            resource_id=pipeline_id,
            resource_type=VisualizationResourceTypes.PIPELINE,
            display_name=f"tile {i}",
            display_order=i,
        )
        t1 = time.perf_counter()
        client.get_curated_visualization(created.id, hydrate=True)
        t2 = time.perf_counter()
        client.update_curated_visualization(
            created.id,
            display_name=f"tile {i} renamed",
            display_order=i + 1,
            layout_size=CuratedVisualizationSize.HALF_WIDTH,
        )
        t3 = time.perf_counter()
        client.delete_curated_visualization(created.id)
        t4 = time.perf_counter()
        if i >= warmup:
            times["create"].append(t1 - t0)
            times["get"].append(t2 - t1)
            times["update"].append(t3 - t2)
            times["delete"].append(t4 - t3)
    # The same tile read again and again: what a re-rendering dashboard asks for.
    tile = client.create_curated_visualization(
        artifact_visualization_id=viz_id,
        resource_id=pipeline_id,
        resource_type=VisualizationResourceTypes.PIPELINE,
    )
    client.get_curated_visualization(tile.id, hydrate=True)
    repeated = [
        _timed(lambda: client.get_curated_visualization(tile.id, hydrate=True))[0] for _ in range(n)
    ]
    client.delete_curated_visualization(tile.id)
    result = {f"{name}_ms": median_ms(values) for name, values in times.items()}
    result["get_repeated_ms"] = median_ms(repeated)
    return result


def worker_list(n: int) -> dict[str, Any]:
    """Time `list_pipeline_runs(size=20)` n times after one untimed call."""
    from zviz_core import Client

    client = Client()
    total = client.list_pipeline_runs(size=20).total
    times = [_timed(lambda: client.list_pipeline_runs(size=20))[0] for _ in range(n)]
    return {"ms": median_ms(times), "total": total}


def worker_versions(n: int) -> dict[str, Any]:
    """Time a page of artifact versions, unfiltered and searched for 'report' (by words, and by
    part of the artifact name), n times each after one untimed call, cache off."""
    from zviz_core import Client

    client = Client()
    calls: dict[str, Callable[[], Any]] = {
        "unfiltered": lambda: client.list_artifact_versions(size=20),
        "contains": lambda: client.list_artifact_versions(name_contains="report", size=20),
    }
    try:
        client.list_artifact_versions(search="report", size=1)
        calls["search"] = lambda: client.list_artifact_versions(search="report", size=20)
    except TypeError:  # a baseline from before the search
        pass
    result: dict[str, Any] = {"total": client.list_artifact_versions(size=1).total}
    for name, call in calls.items():
        call()
        result[f"{name}_ms"] = median_ms([_timed(call)[0] for _ in range(n)])
    return result


def run_worker(args: argparse.Namespace) -> int:
    if args.worker == "pipeline":
        result = worker_pipeline(args.script, args.n)
    elif args.worker == "curated":
        result = worker_curated(args.n)
    elif args.worker == "versions":
        result = worker_versions(args.n)
    else:
        result = worker_list(args.n)
    print(json.dumps(result))
    return 0


# -- the orchestrating process -------------------------------------------------------------------


@dataclass
class Side:
    """One way of running zviz in the children: an engine, and the source tree it imports.

    `stores` maps a store name ("store", "small", "big") to a DuckDB folder or a PostgreSQL URL,
    made on first use: a new folder, or a new database on the side's server.
    """

    key: str  # "duckdb", "postgres" or "baseline"
    label: str
    work: Path
    source: Path = ROOT
    server: Any = None
    stores: dict[str, str] = field(default_factory=dict)
    # PostgreSQL stores copied from a DuckDB folder keep using its artifact files.
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def postgres(self) -> bool:
        return self.server is not None

    def store(self, name: str) -> str:
        """The location of store `name`."""
        if name not in self.stores:
            if self.postgres:
                self.stores[name] = self.server.create_database()
            else:
                self.stores[name] = str(self.work / self.key / name)
        return self.stores[name]

    def env(self, name: str, cache: bool = True) -> dict[str, str]:
        """The environment of a child on store `name`: no access rules, cache on or off."""
        env = dict(os.environ)
        for variable in list(env):
            if variable.startswith("ZVIZ_"):
                del env[variable]
        env.update(
            ZVIZ_READ_CACHE="1" if cache else "0",
            ZVIZ_DEMO="0",
            PYTHONPATH=os.pathsep.join(filter(None, [str(self.source), env.get("PYTHONPATH")])),
        )
        location = self.store(name)
        if self.postgres:
            # A team store: artifacts in a folder "every machine mounts" (here, this one).
            env.update(
                ZVIZ_STORE_URL=location,
                ZVIZ_HOME=str(self.work / self.key / "home"),
                ZVIZ_ARTIFACT_STORE=self.artifacts.get(name)
                or str(self.work / self.key / f"artifacts-{name}"),
                ZVIZ_ARTIFACT_STORE_SHARED="1",
            )
        else:
            env["ZVIZ_HOME"] = location
        return env


def call_worker(
    side: Side, name: str, store: str, n: int, cache: bool = True, **extra: Any
) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "-n", str(n)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    done = subprocess.run(
        command, env=side.env(store, cache), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark worker {name} on {side.label} failed:\n{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_import(side: Side, n: int) -> float:
    """Median seconds of `import zviz_core` in a fresh interpreter."""
    code = "import time;t=time.perf_counter();import zviz_core;print(time.perf_counter()-t)"
    times = []
    for _ in range(n):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=side.env("store"),
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(done.stdout.split()[-1]))
    return statistics.median(times)


def measure_fresh(side: Side, script: Path, n: int) -> float:
    """Median wall seconds of `python script.py`: start, import, one run, exit."""
    env = side.env("store")
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(script)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Filled:
    """A store made by fill_store (DuckDB), and its copy on PostgreSQL when there is a server."""

    runs: int
    home: Path
    seconds: float


def fill_stores(sizes: Sizes, work: Path) -> dict[str, Filled]:
    """The small and the big store for the list figures, filled once for every side."""
    sys.path.insert(0, str(BENCH))
    from fill_store import fill

    filled = {}
    for label, (runs, versions, tiles) in (("small", sizes.small_store), ("big", sizes.big_store)):
        progress(f"filling a store: {runs:,} runs, {versions:,} artifact versions, {tiles:,} tiles")
        result = fill(work / f"fill-{label}", runs, versions, tiles)
        filled[label] = Filled(runs, result.home, result.seconds)
    return filled


def fill_with(tree: Path, sizes: Sizes, work: Path) -> dict[str, Filled]:
    """The small and the big store written by the baseline's own fill_store, in its own schema
    version (a newer store would be refused by an older zviz_core)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env["PYTHONPATH"] = str(tree)
    filled = {}
    for label, (runs, versions, tiles) in (("small", sizes.small_store), ("big", sizes.big_store)):
        home = work / f"fill-{label}-baseline"
        progress(f"filling a store with the baseline's fill_store: {runs:,} runs")
        started = time.perf_counter()
        script = tree / "bench" / "fill_store.py"
        counts = ["--runs", str(runs), "--artifact-versions", str(versions), "--tiles", str(tiles)]
        done = subprocess.run(
            [sys.executable, str(script), "--home", str(home), *counts],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the baseline's fill_store failed:\n{done.stderr[-4000:]}")
        filled[label] = Filled(runs, home, time.perf_counter() - started)
    return filled


def copy_to_postgres(side: Side, label: str, source: Filled) -> float:
    """Copy a filled DuckDB store into a new database with the store's own copy command; its
    rows keep pointing at the source's artifact files. Returns the copy's seconds."""
    from copy_store import run_copy

    url = side.store(label)
    progress(f"copying the {source.runs:,}-run store into PostgreSQL")
    copied = run_copy(str(source.home), url)
    if copied.returncode != 0:
        raise RuntimeError(f"copying the {label} store failed:\n{copied.stderr[-4000:]}")
    side.artifacts[label] = str(source.home / "artifacts")
    # What autovacuum does by itself in the minutes after a bulk load (planner statistics, the
    # visibility map), done now so that it does not run during the timed calls: the figures are
    # those of a store in use, not of one being vacuumed.
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("VACUUM ANALYZE")
    return copied.seconds


def curated_figures(side: Side, store: str, n: int) -> dict[str, float]:
    """The curated loop's medians on store `store`, with the read cache on and then off
    (`curated_get_ms`, `curated_get_nocache_ms`, ...)."""
    figures: dict[str, float] = {}
    for cache in (True, False):
        result = call_worker(side, "curated", store, n, cache=cache)
        suffix = "" if cache else "_nocache"
        for key, value in result.items():
            figures[f"curated_{key.removesuffix('_ms')}{suffix}_ms"] = value
    return figures


def measure_side(
    side: Side, sizes: Sizes, work: Path, filled: dict[str, Filled], full: bool = True
) -> dict[str, Any]:
    """Every figure of one side, each in fresh child processes. `full` adds the import and
    fresh-process figures (not taken for the baseline)."""
    figures: dict[str, Any] = {}
    script = work / "zviz_bench_pipeline.py"
    if not script.exists():
        script.write_text(PIPELINE_SOURCE)

    if full and side.key == "duckdb":
        progress(f"{side.label}: import zviz_core, {sizes.imports} fresh interpreters")
        figures["import_s"] = measure_import(side, sizes.imports)

    progress(f"{side.label}: pipeline in process, 1 warm-up + {sizes.inproc} runs")
    result = call_worker(side, "pipeline", "store", sizes.inproc, script=script)
    expected = "postgres" if side.postgres else "duckdb"
    if result["engine"] != expected or not result["module"].startswith(str(side.source)):
        raise RuntimeError(f"{side.label}'s worker ran {result['engine']} from {result['module']}")
    figures["pipeline_inproc_s"] = statistics.median(result["times"])
    figures["pipeline_inproc_runs"] = len(result["times"])

    if full:
        progress(f"{side.label}: pipeline from a fresh process, {sizes.fresh} runs")
        figures["pipeline_fresh_s"] = measure_fresh(side, script, sizes.fresh)

    if side.postgres:
        figures["round_trip_ms"] = round_trip_ms(side.store("store"))
    progress(f"{side.label}: {sizes.curated} x curated create/get/update/delete, cache on, off")
    figures.update(curated_figures(side, "store", sizes.curated))

    for label, source in filled.items():
        figures[f"{label}_runs"] = source.runs
        if side.postgres:
            figures[f"copy_{label}_s"] = copy_to_postgres(side, label, source)
        else:
            side.stores[label] = str(source.home)
    figures.update(store_figures(side, sizes, filled))
    return figures


def store_figures(side: Side, sizes: Sizes, filled: dict[str, Filled]) -> dict[str, float]:
    """The list and version figures of every filled store, in `sizes.list_rounds` rounds that
    visit the stores in alternating order, each figure the median of its rounds: the rows
    compare one store with another, so both are measured across the same stretch of time."""
    rounds: dict[str, list[float]] = {}
    for number in range(sizes.list_rounds):
        order = list(filled.items())
        if number % 2:
            order.reverse()
        for label, source in order:
            progress(
                f"{side.label}: round {number + 1} of {sizes.list_rounds}: listing 20 runs "
                f"and artifact versions of {source.runs:,}"
            )
            for cache in (False, True):
                result = call_worker(side, "list", label, sizes.lists, cache=cache)
                if result["total"] != source.runs:
                    raise RuntimeError(f"the store holds {result['total']} runs, not {source.runs}")
                key = f"list_{label}{'' if cache else '_nocache'}_ms"
                rounds.setdefault(key, []).append(result["ms"])
            result = call_worker(side, "versions", label, sizes.lists, cache=False)
            for key, value in result.items():
                rounds.setdefault(f"versions_{label}_{key}", []).append(value)
    figures: dict[str, float] = {}
    for key, values in rounds.items():
        if key.endswith("_total"):
            if len(set(values)) != 1:
                raise RuntimeError(f"{key} changed between rounds: {values}")
            figures[key] = values[0]
        else:
            figures[key] = statistics.median(values)
    return figures


def round_trip_ms(url: str, n: int = 500) -> float:
    """Median milliseconds of `SELECT 1` on one connection: the loopback round trip, which on
    a shared virtual machine moves several-fold with the host's state (every PostgreSQL
    statement pays it; the notes print it beside the figures)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        times = [_timed(lambda: con.execute("SELECT 1").fetchone())[0] for _ in range(n)]
    return median_ms(times)


def baseline_tree(revision: str, work: Path) -> Path | None:
    """zviz_core and bench/fill_store.py at `revision`, unpacked with `git archive` (the
    checkout is not touched); None with a progress line when git or the revision is not there
    (a shallow clone)."""
    target = work / "baseline-source"
    target.mkdir()
    try:
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "archive",
                "--format=tar",
                revision,
                "zviz_core",
                "bench/fill_store.py",
            ],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        progress(f"no baseline: git archive {revision} failed ({detail.decode().strip() or exc})")
        return None
    return target


def start_postgres() -> tuple[Any, str | None]:
    """A durable PostgreSQL server (fsync on: this compares write costs), or None and why not."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from zviz_testing import pg

    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        return None, f"psycopg is not installed ({exc})"
    try:
        return pg.start_server(durable=True), None
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        return None, str(exc)


def zenml_python(args: argparse.Namespace) -> Path | None:
    """The interpreter with zenml[local]: $ZENML_PYTHON, else the default venv if present."""
    if args.quick or args.no_zenml:
        return None
    configured = os.environ.get("ZENML_PYTHON")
    if configured:
        return Path(configured)
    return DEFAULT_ZENML_PYTHON if DEFAULT_ZENML_PYTHON.exists() else None


def run_zenml_side(
    python: Path, out: Path, *options: str, config: Path | None = None
) -> dict[str, Any]:
    """Run bench/zenml_side.py with ZenML's interpreter (on ZenML folder `config`, else one of
    its own) and read the JSON it writes to `out`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.pop("ZENML_CONFIG_PATH", None)
    if config is not None:
        env["ZENML_CONFIG_PATH"] = str(config)
    subprocess.run(
        [str(python), str(BENCH / "zenml_side.py"), "--out", str(out), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return json.loads(out.read_text())


def measure_zenml(python: Path, work: Path) -> dict[str, Any]:
    """ZenML's figures: bench/zenml_side.py in full."""
    progress(f"ZenML's side with {python} (about 30 s)")
    return run_zenml_side(python, work / "zenml.json")


def measure_curated_rounds(
    python: Path, work: Path, sizes: Sizes, rounds: int
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, float]]]:
    """The curated figures of this tree on DuckDB and of ZenML, in `rounds` alternating rounds
    (zviz, ZenML, ZenML, zviz, ...), so that a host that slows down or speeds up during the run
    weighs on both sides alike. Returns zviz's and ZenML's medians over the rounds and each
    round's ZenML/zviz ratios."""
    side = Side("duckdb", "DuckDB", work)
    mine_rounds: list[dict[str, float]] = []
    theirs_rounds: list[dict[str, float]] = []

    def zviz_round() -> None:
        mine_rounds.append(curated_figures(side, "rounds", sizes.curated))

    def zenml_round() -> None:
        theirs_rounds.append(
            run_zenml_side(
                python,
                work / "zenml-round.json",
                "--curated-round",
                config=work / "zenml-rounds",
            )
        )

    # The zviz worker needs a run to pin tiles from: the pipeline worker makes one.
    script = work / "zviz_bench_pipeline.py"
    call_worker(side, "pipeline", "rounds", 1, script=script)
    for number in range(rounds):
        progress(f"curated, zviz and ZenML alternating: round {number + 1} of {rounds}")
        for measure in (zviz_round, zenml_round) if number % 2 == 0 else (zenml_round, zviz_round):
            measure()

    def medians(found: list[dict[str, float]]) -> dict[str, Any]:
        return {key: statistics.median(r[key] for r in found) for key in found[0]}

    ratios = [
        {
            name: theirs[zen_key] / mine[key]
            for name, key, zen_key in CURATED_ROWS
            if theirs.get(zen_key) and mine.get(key)
        }
        for mine, theirs in zip(mine_rounds, theirs_rounds, strict=True)
    ]
    return medians(mine_rounds), medians(theirs_rounds), ratios


# -- the table -----------------------------------------------------------------------------------

# The curated rows of issue 11: (figure, zviz key, ZenML key).
CURATED_ROWS = (
    ("curated create", "curated_create_ms", "curated_create_ms"),
    ("curated get(hydrate=True), read cache off", "curated_get_nocache_ms", "curated_get_ms"),
    ("curated update", "curated_update_ms", "curated_update_ms"),
    ("curated delete", "curated_delete_ms", "curated_delete_ms"),
)

ENGINES = (("duckdb", "DuckDB"), ("postgres", "PostgreSQL"))


def build_rows(
    figures: dict[str, dict[str, Any]], zen: dict[str, Any] | None, sizes: Sizes
) -> list[Row]:
    """Turn the raw figures into table rows, one per figure and engine, with a verdict each.

    `figures` holds "duckdb", "postgres" (when a server ran) and "baseline" (DuckDB at the
    baseline revision, when it could be unpacked).
    """
    zen = zen or {}
    base = figures.get("baseline") or {}
    rows: list[Row] = []

    def engines() -> list[tuple[str, str, dict[str, Any]]]:
        return [(key, label, figures[key]) for key, label in ENGINES if figures.get(key)]

    def faster(row: Row, need: float) -> Row:
        row.target = f">= {need:g}x faster than ZenML"
        if row.zviz is None or row.zenml is None:
            row.result = "SKIP"
        else:
            row.result = "PASS" if row.zenml / row.zviz >= need else "FAIL"
        return row

    def at_most(row: Row, limit: float) -> Row:
        row.target = f"<= {limit:g}x" if row.unit == "x" else f"<= {limit:g} {row.unit}"
        row.result = "SKIP" if row.zviz is None else ("PASS" if row.zviz <= limit else "FAIL")
        return row

    def no_slower(row: Row) -> Row:
        row.target = f"<= baseline (+{BASELINE_SLACK - 1:.0%})"
        if row.zviz is None or row.baseline is None:
            row.result = "SKIP"
        else:
            row.result = "PASS" if row.zviz <= row.baseline * BASELINE_SLACK else "FAIL"
        return row

    def figure(
        name: str, unit: str, key: str, zen_key: str | None, scale: float = 1.0
    ) -> list[Row]:
        theirs = zen.get(zen_key) if zen_key else None
        return [
            Row(
                name,
                label,
                unit,
                mine.get(key),
                None if theirs is None else theirs * scale,
                base.get(key) if engine == "duckdb" else None,
            )
            for engine, label, mine in engines()
        ]

    duck = figures["duckdb"]
    rows.append(
        at_most(
            Row(
                "import zviz_core (fresh interpreter)",
                "either",
                "s",
                duck["import_s"],
                zen.get("import_s"),
            ),
            0.3,
        )
    )
    for row in figure(
        f"3-step pipeline, in process (median of {duck['pipeline_inproc_runs']})",
        "s",
        "pipeline_inproc_s",
        "pipeline_inproc_s",
    ):
        rows.append(faster(row, 20))
    for row in figure(
        f"3-step pipeline, fresh process + import (median of {sizes.fresh})",
        "s",
        "pipeline_fresh_s",
        "pipeline_fresh_s",
    ):
        rows.append(faster(row, 5))

    def curated(name: str, key: str, zen_key: str | None) -> None:
        for row in figure(name, "ms", key, zen_key):
            if zen_key is None:
                rows.append(row)
            else:
                # issue 11: DuckDB at least as fast as ZenML, PostgreSQL twice as fast
                rows.append(faster(row, 2 if row.engine == "PostgreSQL" else 1))

    for name, key, zen_key in CURATED_ROWS:
        curated(name, key, zen_key)
    for row in figure(
        "curated get, right after its create (write-through)", "ms", "curated_get_ms", None
    ):
        row.zenml = zen.get("curated_get_ms")
        rows.append(row)
    rows.extend(
        figure("curated get, same tile again (cache hit)", "ms", "curated_get_repeated_ms", None)
    )

    small, big = duck["small_runs"], duck["big_runs"]
    for cache, suffix in (("cache off", "_nocache"), ("cache on", "")):
        for label, runs in (("small", small), ("big", big)):
            for row in figure(
                f"list 20 runs, {runs:,} in store, {cache}",
                "ms",
                f"list_{label}{suffix}_ms",
                "list_runs_20_ms",
            ):
                if cache == "cache on":
                    rows.append(at_most(row, 10))
                elif row.engine == "PostgreSQL":
                    rows.append(at_most(row, 5))
                else:
                    rows.append(no_slower(row))
        for engine, label, mine in engines():
            scale = mine[f"list_big{suffix}_ms"] / mine[f"list_small{suffix}_ms"]
            was = base.get(f"list_big{suffix}_ms") if engine == "duckdb" else None
            if was is not None:
                was /= base[f"list_small{suffix}_ms"]
            row = Row(f"list 20 runs, {big:,} / {small:,} runs, {cache}", label, "x", scale)
            row.baseline = was
            rows.append(at_most(row, 1.5))
    for key, name, limit in (
        ("unfiltered", "list_artifact_versions, unfiltered", 10.0),
        ("search", "artifact search 'report' (words)", None),
        ("contains", "artifact search name_contains='report'", None),
    ):
        for label, runs in (("small", small), ("big", big)):
            for row in figure(
                f"{name}, {runs:,}-run store, cache off",
                "ms",
                f"versions_{label}_{key}_ms",
                None,
            ):
                target = limit and label == "big" and row.engine == "DuckDB"
                rows.append(at_most(row, limit) if target else row)
        for engine, label, mine in engines():
            if mine.get(f"versions_small_{key}_ms") is None:
                continue
            scale = mine[f"versions_big_{key}_ms"] / mine[f"versions_small_{key}_ms"]
            was = None
            if engine == "duckdb" and base.get(f"versions_small_{key}_ms"):
                was = base[f"versions_big_{key}_ms"] / base[f"versions_small_{key}_ms"]
            row = Row(
                f"{name}, {mine['versions_big_total']:,} / "
                f"{mine['versions_small_total']:,} versions",
                label,
                "x",
                scale,
            )
            row.baseline = was
            # issue 11 set these targets for the embedded store; PostgreSQL's are information
            rows.append(at_most(row, 1.5) if engine == "duckdb" else row)
    fair = duck.get("fair")
    if fair:
        steps = sizes.fair_steps
        row = at_most(
            Row(
                f"worst reader wait during a {steps}-step pipeline (reads every 10 ms, cache off)",
                "DuckDB",
                "s",
                fair["max_s"],
            ),
            0.5,
        )
        if fair["errors"]:
            row.result = "FAIL"
        rows.append(row)
        rows.append(
            Row(
                f"that {steps}-step pipeline, while the reader ran "
                f"({fair['reads']} reads, {fair['errors']} errors)",
                "DuckDB",
                "s",
                fair["pipeline_s"],
            )
        )
    rows.append(Row(f"fill_store.fill, {big:,} runs store", "DuckDB", "s", duck["fill_big_s"]))
    if figures.get("postgres"):
        rows.append(
            Row(
                "store copy of that store into PostgreSQL (setup)",
                "PostgreSQL",
                "s",
                figures["postgres"]["copy_big_s"],
            )
        )
    return rows


def render(rows: list[Row]) -> str:
    """The rows as an aligned, pipe-separated table."""
    return table.render(
        (
            "figure",
            "engine",
            "zviz",
            "ZenML",
            "ZenML/zviz",
            "baseline",
            "zviz/base",
            "target",
            "result",
        ),
        [
            (
                r.figure,
                r.engine,
                fmt(r.zviz, r.unit),
                fmt(r.zenml, r.unit),
                r.vs_zenml,
                fmt(r.baseline, r.unit),
                r.vs_baseline,
                r.target,
                r.result,
            )
            for r in rows
        ],
    )


def notes(
    figures: dict[str, dict[str, Any]],
    zen: dict[str, Any] | None,
    sizes: Sizes,
    quick: bool,
    loads: dict[str, float | None],
    setup: dict[str, str],
) -> list[str]:
    cores = os.cpu_count() or 1
    shown = ", ".join(f"{k} {'?' if x is None else f'{x:.1f}'}" for k, x in loads.items())
    busy = any(x is not None and x > cores for x in loads.values())
    lines = [
        f"machine: {cores} cores, Python {platform.python_version()}; "
        f"mode: {'quick (smoke sizes, not comparable)' if quick else 'full'}",
        f"load average (1 min): {shown}"
        + (
            "; ABOVE the core count: other work shared the CPUs, figures are inflated"
            if busy
            else ""
        ),
        f"PostgreSQL: {setup['postgres']}"
        + (
            f"; round trip (SELECT 1 on loopback, median of 500, taken before the curated "
            f"figures): {figures['postgres']['round_trip_ms']:.3f} ms"
            if figures.get("postgres")
            else ""
        ),
        f"baseline: {setup['baseline']}",
        "ZenML/zviz = how many times faster zviz is; zviz/base = this tree's DuckDB figure over "
        "the baseline revision's (above 1 is slower). ZenML's figures come from "
        "bench/zenml_side.py in this same run.",
        f"curated: {sizes.curated} iterations after 3 warm-ups, medians; 'read cache off' "
        "(ZVIZ_READ_CACHE=0) is the cost of reading the store; a get right after its create is "
        "served by the write-through cache.",
        f"list and artifact versions: median of {sizes.list_rounds} rounds that visit the stores "
        f"in alternating order, each the median of {sizes.lists} identical calls; with the cache "
        "on every call after the first is a cache hit, so the cache-off rows are the honest ones.",
    ]
    if not zen:
        lines.append("ZenML not measured (--quick, --no-zenml, or no ZENML_PYTHON): SKIP rows.")
        return lines
    lines.append(
        f"ZenML {zen.get('zenml_version', '?')}: its list figure is on its own store of "
        f"{zen.get('runs_in_store', '?')} runs (SQLite); its curated figures are medians of 50."
    )
    if zen.get("rounds"):
        ratios = zen["rounds"]
        spread = "; ".join(
            f"{name.split(',')[0].removeprefix('curated ')} "
            + ", ".join(f"{r[name]:.2f}x" for r in ratios if name in r)
            for name, _, _ in CURATED_ROWS
        )
        lines.append(
            f"curated rows: DuckDB's and ZenML's figures are the medians of {len(ratios)} "
            "alternating rounds (zviz, ZenML, ZenML, zviz, ...) taken after everything else, so "
            "a host that changes speed weighs on both alike; the PostgreSQL rows compare with "
            f"the same ZenML medians. ZenML/zviz in each round: {spread}."
        )
    return lines


def measure_all(
    args: argparse.Namespace, sizes: Sizes, work: Path, loads: dict[str, float | None]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every zviz figure: this tree on DuckDB, on PostgreSQL, and the baseline on DuckDB."""
    figures: dict[str, dict[str, Any]] = {}
    setup: dict[str, str] = {}
    filled = fill_stores(sizes, work)
    duck = Side("duckdb", "DuckDB", work)
    figures["duckdb"] = measure_side(duck, sizes, work, filled)
    figures["duckdb"]["fill_small_s"] = filled["small"].seconds
    figures["duckdb"]["fill_big_s"] = filled["big"].seconds
    progress(f"a reader listing runs every 10 ms during a {sizes.fair_steps}-step pipeline")
    figures["duckdb"]["fair"] = fairness.measure(sizes.fair_steps)
    loads["after DuckDB"] = load_average()

    tree = None if args.baseline == "none" else baseline_tree(args.baseline, work)
    if tree is None:
        setup["baseline"] = f"not measured ({args.baseline}): the DuckDB 'no slower' rows SKIP"
    else:
        side = Side("baseline", f"DuckDB @ {args.baseline}", work, source=tree)
        try:
            own = fill_with(tree, sizes, work)
            figures["baseline"] = measure_side(side, sizes, work, own, full=False)
        except RuntimeError as exc:
            progress(str(exc))
            setup["baseline"] = f"{args.baseline} failed ({str(exc).splitlines()[0]}): SKIP rows"
        else:
            setup["baseline"] = (
                f"zviz_core at {args.baseline} (git archive) on DuckDB, measured in this run "
                "right after this tree's DuckDB figures, on stores of the same sizes written by "
                "its own fill_store (its schema) and a pipeline store of its own"
            )
        loads["after baseline"] = load_average()

    if args.no_postgres:
        setup["postgres"] = "not measured (--no-postgres): its rows are left out"
        return figures, setup
    progress("starting PostgreSQL (fsync on)")
    server, why = start_postgres()
    if server is None:
        setup["postgres"] = f"not measured: {why}"
        return figures, setup
    try:
        side = Side("postgres", "PostgreSQL", work, server=server)
        figures["postgres"] = measure_side(side, sizes, work, filled)
        setup["postgres"] = (
            f"{server.bindir.parent.name} on 127.0.0.1 started for this run by zviz_testing/pg.py "
            "with fsync and synchronous commits on; a new database per store (pipeline and "
            "curated share one, as on DuckDB); the filled stores copied in with "
            "`python -m zviz_core.store copy`, then VACUUM ANALYZE"
        )
    finally:
        server.stop("fast")
        shutil.rmtree(server.datadir.parent, ignore_errors=True)
    loads["after PostgreSQL"] = load_average()
    return figures, setup


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run a worker, or measure everything and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke sizes, no ZenML (< 60 s)")
    parser.add_argument("--json", type=Path, help="write every figure and row to this file")
    parser.add_argument("--no-zenml", action="store_true", help="do not run ZenML's side")
    parser.add_argument("--zenml-json", type=Path, help="reuse a zenml_side.py result file")
    parser.add_argument(
        "--no-postgres", action="store_true", help="do not start PostgreSQL; DuckDB rows only"
    )
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help=f"git revision whose zviz_core DuckDB is compared with (default {DEFAULT_BASELINE}; "
        "'none' skips it)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--worker", choices=["pipeline", "curated", "list", "versions"], help=argparse.SUPPRESS
    )
    parser.add_argument("-n", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--script", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)

    sizes = QUICK if args.quick else Sizes()
    started = time.perf_counter()
    loads: dict[str, float | None] = {"start": load_average()}
    with tempfile.TemporaryDirectory(prefix="zviz-bench-") as tmp:
        work = Path(tmp)
        figures, setup = measure_all(args, sizes, work, loads)
        zen: dict[str, Any] | None = None
        if args.zenml_json:
            zen = json.loads(args.zenml_json.read_text())
        else:
            python = zenml_python(args)
            if python is not None:
                zen = measure_zenml(python, work)
                loads["after ZenML"] = load_average()
                mine, theirs, ratios = measure_curated_rounds(
                    python, work, sizes, sizes.curated_rounds
                )
                loads["after the curated rounds"] = load_average()
                # The curated rows compare the alternating rounds' figures; the one-phase ones
                # stay in the JSON.
                figures["duckdb"]["one_phase"] = {k: figures["duckdb"][k] for k in mine}
                figures["duckdb"].update(mine)
                zen = {**zen, "one_phase": {k: zen.get(k) for k in theirs}, **theirs}
                zen["rounds"] = ratios
    rows = build_rows(figures, zen, sizes)
    print(render(rows))
    print()
    for line in notes(figures, zen, sizes, args.quick, loads, setup):
        print(f"  {line}")
    progress(f"done in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": "quick" if args.quick else "full",
                    "load_average": loads,
                    "setup": setup,
                    "zviz": figures,
                    "zenml": zen,
                    "rows": [asdict(r) for r in rows],
                },
                indent=2,
            )
            + "\n"
        )
    failed = any(r.result == "FAIL" for r in rows)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

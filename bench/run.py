"""Measure zviz against issue 2's performance targets, beside ZenML 0.98 when it is installed, as one table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import table  # bench/ is on sys.path: these files run as scripts
from table import fmt, load_average

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DEFAULT_ZENML_PYTHON = Path("/work/zenml-venv/bin/python")

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


QUICK = Sizes(
    imports=1,
    inproc=3,
    fresh=1,
    curated=5,
    lists=5,
    small_store=(100, 400, 10),
    big_store=(1_000, 4_000, 40),
)


@dataclass
class Row:
    """One line of the printed table."""

    figure: str
    unit: str
    zviz: float | None
    zenml: float | None
    ratio: str
    target: str
    result: str


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
    namespace = runpy.run_path(str(script), run_name="zviz_bench_pipeline")
    bench_pipeline = namespace["bench_pipeline"]
    run = bench_pipeline()
    assert len(run.steps) == 3, run.steps
    times = [_timed(bench_pipeline)[0] for _ in range(n)]
    return {"times": times}


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


def run_worker(args: argparse.Namespace) -> int:
    if args.worker == "pipeline":
        result = worker_pipeline(args.script, args.n)
    elif args.worker == "curated":
        result = worker_curated(args.n)
    else:
        result = worker_list(args.n)
    print(json.dumps(result))
    return 0


# -- the orchestrating process -------------------------------------------------------------------


def child_env(home: Path, cache: bool = True) -> dict[str, str]:
    """The environment of a zviz child: its own store, no access rules, cache on or off."""
    env = dict(os.environ)
    for name in ("ZVIZ_ARTIFACT_STORE", "ZVIZ_AUTH_CONFIG", "ZVIZ_PROJECT"):
        env.pop(name, None)
    env.update(
        ZVIZ_HOME=str(home),
        ZVIZ_READ_CACHE="1" if cache else "0",
        ZVIZ_DEMO="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def call_worker(name: str, home: Path, n: int, cache: bool = True, **extra: Any) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "-n", str(n)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    done = subprocess.run(
        command, env=child_env(home, cache), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_import(n: int, home: Path) -> float:
    """Median seconds of `import zviz_core` in a fresh interpreter."""
    code = "import time;t=time.perf_counter();import zviz_core;print(time.perf_counter()-t)"
    times = []
    for _ in range(n):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=child_env(home),
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(done.stdout.split()[-1]))
    return statistics.median(times)


def measure_fresh(script: Path, home: Path, n: int) -> float:
    """Median wall seconds of `python script.py`: start, import, one run, exit."""
    env = child_env(home)
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


def measure_zviz(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Every zviz figure, each measured in child processes on stores under `work`."""
    sys.path.insert(0, str(BENCH))
    from fill_store import fill

    figures: dict[str, Any] = {}
    script = work / "zviz_bench_pipeline.py"
    script.write_text(PIPELINE_SOURCE)
    home = work / "store"

    progress(f"import zviz_core, {sizes.imports} fresh interpreters")
    figures["import_s"] = measure_import(sizes.imports, home)

    progress(f"pipeline in process: 1 warm-up + {sizes.inproc} runs")
    times = call_worker("pipeline", home, sizes.inproc, script=script)["times"]
    figures["pipeline_inproc_s"] = statistics.median(times)
    figures["pipeline_inproc_runs"] = len(times)

    progress(f"pipeline from a fresh process: {sizes.fresh} runs")
    figures["pipeline_fresh_s"] = measure_fresh(script, home, sizes.fresh)

    progress(
        f"curated visualizations: {sizes.curated} x create/get/update/delete, cache on and off"
    )
    for cache in (True, False):
        result = call_worker("curated", home, sizes.curated, cache=cache)
        suffix = "" if cache else "_nocache"
        for key, value in result.items():
            figures[f"curated_{key.removesuffix('_ms')}{suffix}_ms"] = value

    for label, (runs, versions, tiles) in (("small", sizes.small_store), ("big", sizes.big_store)):
        store = work / f"{label}-store"
        progress(f"filling a store: {runs:,} runs, {versions:,} artifact versions, {tiles:,} tiles")
        filled = fill(store, runs, versions, tiles)
        figures[f"fill_{label}_s"] = filled.seconds
        figures[f"{label}_runs"] = runs
        for cache in (True, False):
            progress(f"listing 20 runs of {runs:,}, cache {'on' if cache else 'off'}")
            result = call_worker("list", store, sizes.lists, cache=cache)
            if result["total"] != runs:
                raise RuntimeError(f"the store holds {result['total']} runs, not {runs}")
            figures[f"list_{label}{'' if cache else '_nocache'}_ms"] = result["ms"]
    return figures


def zenml_python(args: argparse.Namespace) -> Path | None:
    """The interpreter with zenml[local]: $ZENML_PYTHON, else the default venv if present."""
    if args.quick or args.no_zenml:
        return None
    configured = os.environ.get("ZENML_PYTHON")
    if configured:
        return Path(configured)
    return DEFAULT_ZENML_PYTHON if DEFAULT_ZENML_PYTHON.exists() else None


def measure_zenml(python: Path, work: Path) -> dict[str, Any]:
    """Run bench/zenml_side.py with ZenML's interpreter and read its JSON."""
    out = work / "zenml.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.pop("ZENML_CONFIG_PATH", None)
    progress(f"ZenML's side with {python} (about 30 s)")
    subprocess.run(
        [str(python), str(BENCH / "zenml_side.py"), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return json.loads(out.read_text())


# -- the table -----------------------------------------------------------------------------------


def build_rows(z: dict[str, Any], zen: dict[str, Any] | None, sizes: Sizes) -> list[Row]:
    """Turn the raw figures into table rows with a verdict each."""
    zen = zen or {}
    rows: list[Row] = []

    def faster(figure: str, unit: str, mine: float, key: str, scale: float, need: float) -> None:
        theirs = zen.get(key)
        theirs = None if theirs is None else theirs * scale
        if theirs is None:
            rows.append(Row(figure, unit, mine, None, "-", f">= {need:g}x faster", "SKIP"))
            return
        ratio = theirs / mine
        verdict = "PASS" if ratio >= need else "FAIL"
        rows.append(
            Row(figure, unit, mine, theirs, f"{ratio:.1f}x", f">= {need:g}x faster", verdict)
        )

    def no_slower(figure: str, mine: float, key: str | None) -> None:
        theirs = zen.get(key) if key else None
        if key is None:
            rows.append(Row(figure, "ms", mine, None, "-", "info", "-"))
        elif theirs is None:
            rows.append(Row(figure, "ms", mine, None, "-", "<= ZenML", "SKIP"))
        else:
            verdict = "PASS" if mine <= theirs else "FAIL"
            rows.append(
                Row(figure, "ms", mine, theirs, f"{theirs / mine:.1f}x", "<= ZenML", verdict)
            )

    def at_most(figure: str, unit: str, mine: float, limit: float, key: str | None) -> None:
        theirs = zen.get(key) if key else None
        ratio = f"{theirs / mine:.1f}x" if theirs else "-"
        verdict = "PASS" if mine <= limit else "FAIL"
        rows.append(Row(figure, unit, mine, theirs, ratio, f"<= {limit:g} {unit}", verdict))

    at_most("import zviz_core (fresh interpreter)", "s", z["import_s"], 0.3, "import_s")
    faster(
        f"3-step pipeline, in process (median of {z['pipeline_inproc_runs']})",
        "s",
        z["pipeline_inproc_s"],
        "pipeline_inproc_s",
        1.0,
        20,
    )
    faster(
        f"3-step pipeline, fresh process + import (median of {sizes.fresh})",
        "s",
        z["pipeline_fresh_s"],
        "pipeline_fresh_s",
        1.0,
        5,
    )
    for op in ("create", "get", "update", "delete"):
        label = "get(hydrate=True), after its create (write-through)" if op == "get" else op
        no_slower(f"curated {label}", z[f"curated_{op}_ms"], f"curated_{op}_ms")
    no_slower("curated get, read cache off", z["curated_get_nocache_ms"], "curated_get_ms")
    no_slower("curated get, same tile again (cache hit)", z["curated_get_repeated_ms"], None)

    small, big = z["small_runs"], z["big_runs"]
    for cache, suffix in (("cache off", "_nocache"), ("cache on", "")):
        for label, runs in (("small", small), ("big", big)):
            at_most(
                f"list 20 runs, {runs:,} in store, {cache}",
                "ms",
                z[f"list_{label}{suffix}_ms"],
                10,
                "list_runs_20_ms",
            )
        scale = z[f"list_big{suffix}_ms"] / z[f"list_small{suffix}_ms"]
        verdict = "PASS" if scale <= 1.5 else "FAIL"
        rows.append(
            Row(
                f"list 20 runs, {big:,} / {small:,} runs, {cache}",
                "x",
                scale,
                None,
                "-",
                "<= 1.5x",
                verdict,
            )
        )
    rows.append(
        Row(f"fill_store.fill, {big:,} runs store", "s", z["fill_big_s"], None, "-", "info", "-")
    )
    return rows


def render(rows: list[Row]) -> str:
    """The rows as an aligned, pipe-separated table."""
    return table.render(
        ("figure", "zviz", "ZenML", "ratio", "target", "result"),
        [
            (r.figure, fmt(r.zviz, r.unit), fmt(r.zenml, r.unit), r.ratio, r.target, r.result)
            for r in rows
        ],
    )


def notes(
    zen: dict[str, Any] | None, sizes: Sizes, quick: bool, loads: dict[str, float | None]
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
        "ratio = ZenML / zviz (how many times faster zviz is); ZenML figures come from "
        "bench/zenml_side.py in this same run.",
        f"curated: {sizes.curated} iterations after 3 warm-ups, medians; a get right after its "
        "create is served by the write-through cache; 'read cache off' (ZVIZ_READ_CACHE=0) is "
        "the cost of reading the file.",
        f"list: median of {sizes.lists} identical calls; with the cache on every call after the "
        "first is a cache hit, so the cache-off rows are the honest ones.",
    ]
    if zen:
        lines.append(
            f"ZenML {zen.get('zenml_version', '?')}: its list figure is on its own store of "
            f"{zen.get('runs_in_store', '?')} runs (SQLite); its curated figures are medians of 50."
        )
    else:
        lines.append("ZenML not measured (--quick, --no-zenml, or no ZENML_PYTHON): SKIP rows.")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run a worker, or measure everything and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke sizes, no ZenML (< 20 s)")
    parser.add_argument("--json", type=Path, help="write every figure and row to this file")
    parser.add_argument("--no-zenml", action="store_true", help="do not run ZenML's side")
    parser.add_argument("--zenml-json", type=Path, help="reuse a zenml_side.py result file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--worker", choices=["pipeline", "curated", "list"], help=argparse.SUPPRESS)
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
        figures = measure_zviz(sizes, work)
        loads["after zviz"] = load_average()
        zen: dict[str, Any] | None = None
        if args.zenml_json:
            zen = json.loads(args.zenml_json.read_text())
        else:
            python = zenml_python(args)
            if python is not None:
                zen = measure_zenml(python, work)
                loads["after ZenML"] = load_average()
    rows = build_rows(figures, zen, sizes)
    print(render(rows))
    print()
    for line in notes(zen, sizes, args.quick, loads):
        print(f"  {line}")
    progress(f"done in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": "quick" if args.quick else "full",
                    "load_average": loads,
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

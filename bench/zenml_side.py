"""Measure ZenML 0.98 doing the same work as zviz's benchmark and write the medians as JSON."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# ZenML reads its configuration when it is imported, so its state must point at a temporary
# folder before the import below. A `--run-once` child inherits the parent's folder.
_OWN_CONFIG_DIR = "ZENML_CONFIG_PATH" not in os.environ
if _OWN_CONFIG_DIR:
    os.environ["ZENML_CONFIG_PATH"] = tempfile.mkdtemp(prefix="zenml-bench-")
    atexit.register(shutil.rmtree, os.environ["ZENML_CONFIG_PATH"], ignore_errors=True)
os.environ.update(
    {
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
        "ZENML_AUTO_OPEN_DASHBOARD": "false",
        "ZENML_LOGGING_VERBOSITY": "ERROR",
    }
)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import zenml  # noqa: E402
from PIL import Image  # noqa: E402
from zenml import pipeline, step  # noqa: E402
from zenml.client import Client  # noqa: E402
from zenml.enums import CuratedVisualizationSize, VisualizationResourceTypes  # noqa: E402
from zenml.models import PipelineRunResponse  # noqa: E402
from zenml.types import HTMLString  # noqa: E402

THIS_FILE = Path(__file__).resolve()


@step
def make_frame() -> pd.DataFrame:
    """Return a 1000x5 DataFrame of random floats."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((1000, 5)), columns=list("abcde"))


@step
def make_report(df: pd.DataFrame) -> HTMLString:
    """Return a small HTML report describing the DataFrame."""
    return HTMLString(f"<h1>Report</h1><p>{len(df)} rows</p>{df.describe().to_html()}")


@step
def make_image() -> Image.Image:
    """Return a 64x64 RGB image."""
    return Image.new("RGB", (64, 64), color=(200, 80, 40))


@pipeline(enable_cache=False)
def bench_pipeline() -> None:
    """Three steps: a DataFrame, an HTML report on it, and an image."""
    make_report(make_frame())
    make_image()


def progress(message: str) -> None:
    """Write one short progress line to stderr."""
    print(f"[zenml_side] {message}", file=sys.stderr, flush=True)


def median_of(n: int, func: Callable[[], Any]) -> float:
    """Return the median wall time, in seconds, of `n` calls of `func`."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_import(n: int = 3) -> float:
    """Median time of `import zenml` in a fresh interpreter."""
    code = "import time;t=time.perf_counter();import zenml;print(time.perf_counter()-t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(n)
    ]
    return statistics.median(times)


def run_fresh() -> None:
    """Run the pipeline once in a fresh process, import included."""
    subprocess.run(
        [sys.executable, str(THIS_FILE), "--run-once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


def measure_curated(run: PipelineRunResponse, n: int = 50) -> dict[str, float]:
    """Median milliseconds of create/get/update/delete of a curated visualization."""
    client = Client()
    # The DataFrame output carries two visualizations (describe.csv and sample.csv).
    visualization_id = run.steps["make_frame"].output.visualizations[0].id
    pipeline_id = run.pipeline.id
    # The client has no getter for curated visualizations; the store has one.
    store = client.zen_store

    times: dict[str, list[float]] = {"create": [], "get": [], "update": [], "delete": []}
    for i in range(n):
        start = time.perf_counter()
        created = client.create_curated_visualization(
            artifact_visualization_id=visualization_id,
            resource_id=pipeline_id,
            resource_type=VisualizationResourceTypes.PIPELINE,
            display_name=f"tile {i}",
            display_order=i,
        )
        times["create"].append(time.perf_counter() - start)

        start = time.perf_counter()
        store.get_curated_visualization(created.id, hydrate=True)
        times["get"].append(time.perf_counter() - start)

        start = time.perf_counter()
        client.update_curated_visualization(
            created.id,
            display_name=f"tile {i} renamed",
            display_order=i + 1,
            layout_size=CuratedVisualizationSize.HALF_WIDTH,
        )
        times["update"].append(time.perf_counter() - start)

        start = time.perf_counter()
        client.delete_curated_visualization(created.id)
        times["delete"].append(time.perf_counter() - start)
    return {
        f"curated_{name}_ms": statistics.median(values) * 1000 for name, values in times.items()
    }


def measure_list_runs(n: int = 20) -> tuple[float, int]:
    """Median milliseconds of listing 20 runs, and how many runs are stored."""
    client = Client()
    seconds = median_of(n, lambda: client.list_pipeline_runs(size=20))
    return seconds * 1000, client.list_pipeline_runs(size=1).total


def benchmark() -> dict[str, Any]:
    """Run every measurement and return the result object."""
    result: dict[str, Any] = {"zenml_version": zenml.__version__}

    progress("measuring import time")
    result["import_s"] = measure_import()

    progress("creating the database and warming up")
    Client().zen_store  # noqa: B018  (the first access creates the database)
    run = bench_pipeline()

    progress("timing the pipeline in process")
    result["pipeline_inproc_s"] = median_of(5, bench_pipeline)

    progress("timing the pipeline from a fresh process")
    result["pipeline_fresh_s"] = median_of(3, run_fresh)

    progress("timing curated visualizations")
    result.update(measure_curated(run))

    progress("timing run listing")
    result["list_runs_20_ms"], result["runs_in_store"] = measure_list_runs()
    return result


def curated_round() -> dict[str, Any]:
    """One round of the curated figures on the ZenML folder the parent keeps between rounds
    (ZENML_CONFIG_PATH): its pipeline runs once, in the first round."""
    client = Client()
    runs = client.list_pipeline_runs(size=1, sort_by="desc:created")
    run = runs.items[0] if runs.items else bench_pipeline()
    return measure_curated(client.get_pipeline_run(run.id))


def main() -> None:
    """Parse arguments, then run once, time one curated round, or benchmark; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="where to write the JSON result")
    parser.add_argument("--run-once", action="store_true", help="run the pipeline once and exit")
    parser.add_argument(
        "--curated-round",
        action="store_true",
        help="time only the curated calls, on the folder in ZENML_CONFIG_PATH",
    )
    args = parser.parse_args()

    if args.run_once:
        bench_pipeline()
        return
    if args.curated_round:
        if _OWN_CONFIG_DIR:
            parser.error("--curated-round needs ZENML_CONFIG_PATH, kept between rounds")
        result = curated_round()
    else:
        try:
            result = benchmark()
        finally:
            if _OWN_CONFIG_DIR:
                shutil.rmtree(os.environ["ZENML_CONFIG_PATH"], ignore_errors=True)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

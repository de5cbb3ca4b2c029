"""Smoke tests of the benchmark: `bench/run.py --quick` prints every row on DuckDB and PostgreSQL,
and fill_store makes a readable store."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from zviz_core import Client
from zviz_core.enums import VisualizationResourceTypes, VisualizationType
from zviz_testing import pg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

# (figure prefix, engines it is measured on)
BOTH = ("DuckDB", "PostgreSQL")
ROWS = [
    ("import zviz_core (fresh interpreter)", ("either",)),
    ("3-step pipeline, in process", BOTH),
    ("3-step pipeline, fresh process + import", BOTH),
    ("curated create", BOTH),
    ("curated get(hydrate=True), read cache off", BOTH),
    ("curated update", BOTH),
    ("curated delete", BOTH),
    ("curated get, right after its create (write-through)", BOTH),
    ("curated get, same tile again (cache hit)", BOTH),
    ("list 20 runs, 100 in store, cache off", BOTH),
    ("list 20 runs, 1,000 in store, cache off", BOTH),
    ("list 20 runs, 1,000 / 100 runs, cache off", BOTH),
    ("list 20 runs, 100 in store, cache on", BOTH),
    ("list 20 runs, 1,000 in store, cache on", BOTH),
    ("list 20 runs, 1,000 / 100 runs, cache on", BOTH),
    *(
        (f"{name}, {scope}", BOTH)
        for name in (
            "list_artifact_versions, unfiltered",
            "artifact search 'report' (words)",
            "artifact search name_contains='report'",
        )
        for scope in ("100-run store", "1,000-run store", "4,000 / 400 versions")
    ),
    ("worst reader wait during a 30-step pipeline", ("DuckDB",)),
    ("that 30-step pipeline, while the reader ran", ("DuckDB",)),
    ("fill_store.fill", ("DuckDB",)),
    ("store copy of that store into PostgreSQL", ("PostgreSQL",)),
]
# Rows judged against DuckDB at the baseline revision ("no slower than today").
BASELINE_ROWS = {
    "list 20 runs, 100 in store, cache off",
    "list 20 runs, 1,000 in store, cache off",
}
# Rows judged against ZenML on both engines (issue 11: DuckDB >= 1x, PostgreSQL >= 2x).
ZENML_ROWS = {
    "curated create",
    "curated get(hydrate=True), read cache off",
    "curated update",
    "curated delete",
}


def _fill_store_module() -> ModuleType:
    name = "zviz_bench_fill_store"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / "fill_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _baseline_in_repo() -> bool:
    """Whether the baseline revision bench/run.py compares DuckDB with is in this clone (a
    shallow clone may lack it; the bench then says SKIP on those rows)."""
    found = re.search(r'^DEFAULT_BASELINE = "(\w+)"', (BENCH / "run.py").read_text(), re.M)
    assert found, "bench/run.py names no DEFAULT_BASELINE"
    done = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{found[1]}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.slow
def test_quick_benchmark_prints_every_figure_on_both_engines(tmp_path: Path) -> None:
    if pg.find_bindir() is None and os.environ.get(pg.REQUIRE_ENV) != "1":
        pytest.skip("PostgreSQL's server binaries are not installed")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = [c.strip() for c in lines[0].split(" | ")]
    assert header == [
        "figure",
        "engine",
        "zviz",
        "ZenML",
        "ZenML/zviz",
        "baseline",
        "zviz/base",
        "target",
        "result",
    ]
    rows = [[c.strip() for c in line.split(" | ")] for line in lines[2:] if " | " in line]
    baseline = _baseline_in_repo()
    for prefix, engines in ROWS:
        matching = [r for r in rows if r[0].startswith(prefix)]
        assert [r[1] for r in matching] == list(engines), f"{prefix!r} in:\n{done.stdout}"
        for cells in matching:
            assert len(cells) == 9
            assert cells[2] != "-", f"no figure for {prefix!r} on {cells[1]}"
            assert cells[8] in {"PASS", "FAIL", "SKIP", "-"}
            if prefix in ZENML_ROWS:
                need = "1x" if cells[1] == "DuckDB" else "2x"
                assert cells[7] == f">= {need} faster than ZenML", cells
                assert cells[8] == "SKIP", cells  # --quick measures no ZenML
            if cells[1] == "DuckDB" and prefix in BASELINE_ROWS:
                # judged against the baseline revision's figure, measured in this same run
                assert cells[7].startswith("<= baseline"), cells
                if baseline:
                    assert cells[5] != "-" and cells[8] in {"PASS", "FAIL"}, cells
                else:
                    assert cells[8] == "SKIP", cells
    assert "machine:" in done.stdout and "load average (1 min): start" in done.stdout
    assert "with fsync and synchronous commits on" in done.stdout
    saved = json.loads(out.read_text())
    assert saved["mode"] == "quick"
    assert saved["zenml"] is None
    assert set(saved["zviz"]) == {"duckdb", "postgres", *(["baseline"] if baseline else [])}
    assert len(saved["rows"]) == sum(len(engines) for _, engines in ROWS)


def test_fill_store_makes_a_store_the_client_reads(tmp_path: Path) -> None:
    fill_store = _fill_store_module()
    home = tmp_path / "filled"
    result = fill_store.fill(home, runs=300, artifact_versions=1_000, tiles=60)
    assert result.visualizations >= 1_000

    client = Client(home=home)
    page = client.list_pipeline_runs(size=20)
    assert page.total == 300
    assert len(page.items) == 20
    created = [run.created for run in page.items]
    assert created == sorted(created, reverse=True)

    oldest = client.list_pipeline_runs(size=1, page=300).items[0]
    run = client.get_pipeline_run(oldest.id)
    assert run.pipeline.name.startswith("bench_pipeline_")
    assert run.snapshot().id == run.snapshot_id
    assert len(run.steps) == 4  # versions 0, 300, 600, 900 belong to the first run
    for step in run.steps.values():
        assert step.outputs, step.name
        assert step.output.visualizations
    frame = run.steps["load_data"].output
    assert [v.type for v in frame.visualizations] == [
        VisualizationType.CSV,
        VisualizationType.CSV,
        VisualizationType.VEGA_LITE,  # the profile
    ]
    assert frame.load().shape == (1000, 5)
    loaded = client.load_visualization(frame.visualizations[0].id)
    assert loaded.value.startswith(",a,b,c,d,e")
    assert run.steps["report"].inputs["data"].id == frame.id

    tiles = client.list_curated_visualizations(VisualizationResourceTypes.PIPELINE, run.pipeline.id)
    assert tiles, "the pipeline should carry tiles"
    orders = [t.display_order for t in tiles if t.display_order is not None]
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders)
    tile = client.get_curated_visualization(tiles[0].id, hydrate=True)
    assert tile.resource_id == run.pipeline.id
    assert tile.artifact_visualization is not None

    assert client.list_artifact_versions(size=5).total == 1_000
    assert len(client.list_models().items) == fill_store.MODELS
    assert len(client.list_deployments().items) == fill_store.DEPLOYMENTS


def test_fill_store_cli_refuses_a_store_with_runs(tmp_path: Path) -> None:
    fill_store = _fill_store_module()
    home = tmp_path / "cli"
    args = ["--home", str(home), "--runs", "20", "--artifact-versions", "40", "--tiles", "4"]
    assert fill_store.main(args) == 0
    assert fill_store.main(args) == 2
    assert Client(home=home).list_pipeline_runs().total == 20

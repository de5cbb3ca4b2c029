"""Smoke tests of the benchmark: `bench/run.py --quick` prints every row, and fill_store makes a readable store."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from zviz_core import Client
from zviz_core.enums import VisualizationResourceTypes, VisualizationType

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

ROW_PREFIXES = [
    "import zviz_core (fresh interpreter)",
    "3-step pipeline, in process",
    "3-step pipeline, fresh process + import",
    "curated create",
    "curated get(hydrate=True), after its create (write-through)",
    "curated update",
    "curated delete",
    "curated get, read cache off",
    "curated get, same tile again (cache hit)",
    "list 20 runs, 100 in store, cache off",
    "list 20 runs, 1,000 in store, cache off",
    "list 20 runs, 1,000 / 100 runs, cache off",
    "list 20 runs, 100 in store, cache on",
    "list 20 runs, 1,000 in store, cache on",
    "list 20 runs, 1,000 / 100 runs, cache on",
    "fill_store.fill",
]


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


@pytest.mark.slow
def test_quick_benchmark_prints_every_figure(tmp_path: Path) -> None:
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
    assert lines[0].split(" | ")[0].strip() == "figure"
    for prefix in ROW_PREFIXES:
        matching = [line for line in lines if line.startswith(prefix)]
        assert len(matching) == 1, f"no single row starting {prefix!r} in:\n{done.stdout}"
        cells = [c.strip() for c in matching[0].split(" | ")]
        assert len(cells) == 6
        assert cells[1] != "-", f"zviz has no figure for {prefix!r}"
        assert cells[5] in {"PASS", "FAIL", "SKIP", "-"}
    saved = json.loads(out.read_text())
    assert saved["mode"] == "quick"
    assert saved["zenml"] is None
    assert len(saved["rows"]) == len(ROW_PREFIXES)


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
    assert [v.type for v in frame.visualizations] == [VisualizationType.CSV, VisualizationType.CSV]
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

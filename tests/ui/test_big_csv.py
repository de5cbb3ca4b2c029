"""A 1 GB CSV visualization: the app shows a bounded preview with the true row count, and the
rendering process's memory stays bounded (peak RSS reported)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.materializers import BaseMaterializer

ROW = "12345678,87654321,abcdefghij\n"
ROWS = 1_000_000_000 // len(ROW)


class BigCSV:
    """A marker output whose visualization is a 1 GB CSV written in chunks."""


class BigCSVMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (BigCSV,)

    def save(self, data: BigCSV) -> None:
        with self.artifact_store.open(self.path("marker.txt"), "w") as fh:
            fh.write("big")

    def load(self, data_type: type) -> BigCSV:
        return BigCSV()

    def save_visualizations(self, data: BigCSV) -> dict[str, VisualizationType]:
        path = self.path("big.csv")
        chunk = ROW * 100_000
        with open(path, "w") as fh:
            fh.write("a,b,c\n")
            for _ in range(ROWS // 100_000):
                fh.write(chunk)
            fh.write(ROW * (ROWS % 100_000))
        return {path: VisualizationType.CSV}


@step
def big() -> BigCSV:
    return BigCSV()


@pipeline
def big_csv_pipeline() -> None:
    big()


RENDER = textwrap.dedent(
    """
    import json, resource, sys
    from streamlit.testing.v1 import AppTest

    app, page, run_id, step = sys.argv[1:5]

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    at = AppTest.from_file(app, default_timeout=120)
    at.switch_page("app_pages/overview.py")
    at.run()  # imports and one render without the big file: the baseline
    before = peak_mb()
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["id"] = run_id
    at.query_params["step"] = step
    at.switch_page(page)
    at.run()
    after = peak_mb()
    frames = [len(f.value) for f in at.dataframe]
    captions = [c.value for c in at.caption]
    print(json.dumps({"before_mb": before, "after_mb": after, "frames": frames,
                      "captions": captions, "exceptions": [e.value for e in at.exception]}))
    """
)


@pytest.mark.slow
def test_one_gigabyte_csv_gets_a_bounded_preview_in_bounded_memory(
    client: Client, tmp_path: Path
) -> None:
    run = big_csv_pipeline()
    viz = run.steps["big"].output.visualizations[0]
    assert Path(viz.uri).stat().st_size > 900_000_000
    script = tmp_path / "render.py"
    script.write_text(RENDER)
    app = Path(__file__).resolve().parents[2] / "streamlit_app.py"
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(app), "app_pages/runs.py", str(run.id), "big"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        Path(viz.uri).unlink()  # a gigabyte is too much to leave in pytest's kept temp dirs
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth = result["after_mb"] - result["before_mb"]
    print(
        f"1 GB CSV preview: peak RSS {result['before_mb']:.0f} MB -> "
        f"{result['after_mb']:.0f} MB (+{growth:.0f} MB)"
    )
    assert not result["exceptions"]
    assert 500 in result["frames"]
    assert any(f"{ROWS:,}" in c for c in result["captions"]), result["captions"]
    assert growth < 500

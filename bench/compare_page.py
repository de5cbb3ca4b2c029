"""The compare page for 6 runs x 10 outputs, caches warm, against issue 12's 0.5 s target: the
whole entrypoint run through Streamlit's AppTest on a DuckDB store, as the local owner.

    .venv/bin/python bench/compare_page.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_S = 0.5
RUNS = 6


def _pipeline() -> Any:
    import altair as alt
    import numpy as np
    import pandas as pd
    from PIL import Image

    from zviz_core import pipeline, step
    from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString

    @step
    def frame(seed: int) -> Annotated[pd.DataFrame, "frame"]:
        rng = np.random.default_rng(seed)
        return pd.DataFrame(rng.random((200, 4)), columns=list("abcd"))

    @step
    def metrics(seed: int) -> Annotated[JSONString, "metrics"]:
        return JSONString(json.dumps({"accuracy": 0.8 + seed / 100, "loss": 0.2 - seed / 100}))

    @step
    def params(seed: int) -> Annotated[dict, "params"]:
        return {"lr": 0.01 * seed, "depth": seed, "trees": 10 * seed}

    @step
    def report(seed: int) -> Annotated[HTMLString, "report"]:
        return HTMLString(f"<h1>Report {seed}</h1><p>fine</p>")

    @step
    def card(seed: int) -> Annotated[MarkdownString, "card"]:
        return MarkdownString(f"# Card {seed}\n\n*accuracy* **{0.8 + seed / 100}**")

    @step
    def table(seed: int) -> Annotated[CSVString, "table"]:
        return CSVString("x,y\n" + "\n".join(f"{i},{i * seed}" for i in range(20)))

    @step
    def picture(seed: int) -> Annotated[Image.Image, "picture"]:
        return Image.new("RGB", (64, 48), (40 * seed % 255, 30, 30))

    @step
    def curve(seed: int) -> Annotated[Any, "curve"]:
        data = pd.DataFrame(
            {"epoch": range(10), "score": [seed * 0.01 + e / 20 for e in range(10)]}
        )
        return alt.Chart(data).mark_line().encode(x="epoch:Q", y="score:Q")

    @step
    def notes(seed: int) -> Annotated[MarkdownString, "notes"]:
        return MarkdownString(f"Run {seed}: nothing special.")

    @step
    def summary(seed: int) -> Annotated[JSONString, "summary"]:
        return JSONString(json.dumps({"rows": 200, "seed": seed, "f1": 0.7 + seed / 50}))

    @pipeline
    def compared(seed: int = 1) -> None:
        frame(seed)  # one output, two visualizations (describe.csv, sample.csv)
        metrics(seed)
        params(seed)
        report(seed)
        card(seed)
        table(seed)
        picture(seed)
        curve(seed)
        notes(seed)
        summary(seed)

    return compared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(ZVIZ_HOME=str(Path(tmp) / "store"), ZVIZ_DEMO="0")
        for name in ("ZVIZ_AUTH_CONFIG", "ZVIZ_STORE_URL", "ZVIZ_ARTIFACT_STORE"):
            os.environ.pop(name, None)
        compared = _pipeline()
        runs = [compared(seed=i) for i in range(1, RUNS + 1)]
        outputs = sum(len(s.outputs) for s in runs[0].steps.values())
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.query_params["runs"] = ",".join(str(r.id) for r in runs)
        at.switch_page("app_pages/compare.py")
        start = time.perf_counter()
        at.run()
        cold = time.perf_counter() - start
        assert not at.exception, [e.value for e in at.exception]
        warm = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - start)
        assert not at.exception and len(at.get("iframe")) == RUNS
        median = statistics.median(warm)
        print(f"compare page, {RUNS} runs x {outputs} outputs (DuckDB, AppTest, whole entrypoint)")
        print(f"first run (cold caches): {cold:.2f} s")
        verdict = "PASS" if median <= TARGET_S else "FAIL"
        print(f"warm: median {median:.3f} s, max {max(warm):.3f} s, target {TARGET_S} s: {verdict}")
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

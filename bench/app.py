"""Measure the zviz app against the performance targets of issues 3 and 5 in one run, as one table."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import table  # bench/ is on sys.path: these files run as scripts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the shared server module
from table import fmt, load_average

from zviz_testing import streamlit_server as server
from zviz_testing.streamlit_server import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
APP = ROOT / "streamlit_app.py"
ADMIN = "admin"
ADMIN_PASSWORD = "bench-admin-password"
COOKIE_KEY = "bench-only-cookie-key-" + "0123456789abcdef"
ARTIFACT_QUERY = "report"
IDLE = (
    "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"
)
BROWSER_TIMEOUT_MS = 60_000
SERVER_TIMEOUT_S = 60.0
MB = 1_000_000

# The pipelines the app figures look at, written to a file so that a worker can run them with
# runpy (step functions must live in a module). `mixed` returns one artifact of every
# visualization type, `twenty` chains 20 steps of mixed outputs, `big_csv` writes a CSV
# visualization of ZVIZ_BENCH_CSV_MB megabytes beside a tiny one.
PIPELINES_SOURCE = '''"""zviz's app benchmark pipelines: every visualization type, 20 steps, a big CSV."""

import os
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from zviz_core import pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.materializers import BaseMaterializer
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString

CARD = """# Model card

A gradient-boosted classifier for the benchmark data.

| metric | value |
|---|---|
| accuracy | 0.93 |
| f1 | 0.91 |

*Trained on 1,000 rows; evaluated on 300.*
"""


def _frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame(rng.random((rows, 5)), columns=list("abcde"))


@step
def frame() -> pd.DataFrame:
    return _frame()


@step
def report(df: pd.DataFrame) -> HTMLString:
    return HTMLString(f"<h1>Report</h1><p>{len(df)} rows</p>{df.describe().to_html()}")


@step
def card() -> MarkdownString:
    return MarkdownString(CARD)


@step
def metrics() -> JSONString:
    return JSONString(
        '{"accuracy": 0.93, "f1": 0.91, "per_class": {"a": 0.9, "b": 0.95, "c": 0.94},'
        ' "confusion": [[50, 3, 1], [2, 47, 4], [0, 5, 48]]}'
    )


@step
def picture() -> Image.Image:
    x = np.linspace(0, 255, 320, dtype=np.uint8)
    pixels = np.stack([np.tile(x, (240, 1)), np.tile(x[::-1], (240, 1)), np.full((240, 320), 90)], -1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


@step
def chart(df: pd.DataFrame) -> Any:
    return alt.Chart(df).mark_point().encode(x="a", y="b", color="c")


@step
def table() -> CSVString:
    return CSVString("model,accuracy\\nstumps,0.71\\nshallow,0.86\\nforest,0.93\\n")


@pipeline(enable_cache=False)
def mixed() -> None:
    df = frame()
    report(df)
    card()
    metrics()
    picture()
    chart(df)
    table()


def _twenty_step(i: int) -> Any:
    kind = i % 5

    def body(data: Any = None) -> Any:
        if kind == 0:
            return _frame(50 + i)
        if kind == 1:
            return HTMLString(f"<h2>Step {i}</h2><p>input: {type(data).__name__}</p>")
        if kind == 2:
            return JSONString('{"step": %d, "ok": true}' % i)
        if kind == 3:
            return MarkdownString(f"## Step {i}\\n\\nAll checks passed.")
        return CSVString(f"step,value\\n{i},{i * 0.5}\\n")

    return step(body, name=f"step_{i:02d}")


TWENTY = [_twenty_step(i) for i in range(1, 21)]


@pipeline(enable_cache=False)
def twenty() -> None:
    data = None
    for s in TWENTY:
        data = s(data) if data is not None else s()


class BigCSV:
    """A marker output whose visualization is a CSV of ZVIZ_BENCH_CSV_MB megabytes."""

    def __init__(self, megabytes: float) -> None:
        self.megabytes = megabytes


class BigCSVMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (BigCSV,)

    def save(self, data: BigCSV) -> None:
        with self.artifact_store.open(self.path("marker.txt"), "w") as fh:
            fh.write(str(data.megabytes))

    def load(self, data_type: type) -> BigCSV:
        return BigCSV(0)

    def save_visualizations(self, data: BigCSV) -> dict[str, VisualizationType]:
        path = self.path("table.csv")
        size = int(data.megabytes * 1_000_000)
        with open(path, "w") as fh:
            fh.write("id,name,score,a,b,c\\n")
            i, batch = 0, 20_000 if size > 10_000_000 else 10
            while fh.tell() < size:
                fh.write("".join(
                    f"{j},name-{j},0.{j},1.2345678,2.3456789,3.4567891\\n"
                    for j in range(i, i + batch)
                ))
                i += batch
        return {path: VisualizationType.CSV}


@step
def small_csv() -> BigCSV:
    return BigCSV(0.001)


@step
def big_csv() -> BigCSV:
    return BigCSV(float(os.environ.get("ZVIZ_BENCH_CSV_MB", "200")))


@pipeline(enable_cache=False)
def csv_pipeline() -> None:
    small_csv()
    big_csv()
'''


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does; `--quick` shrinks everything."""

    dashboard_tiles: int = 50
    run_steps: int = 20
    run_tiles: int = 6
    reruns: int = 7
    sessions: int = 3
    cold_starts: int = 3
    csv_mb: float = 200.0
    lists: int = 50
    # (runs, artifact versions, tiles, pipelines): the big store has 1,000 runs and ~25 tiles
    # per pipeline, like the small store's one pipeline, so a pipeline page shows the same.
    small_store: tuple[int, int, int, int] = (1_000, 10_000, 100, 1)
    big_store: tuple[int, int, int, int] = (100_000, 1_000_000, 10_000, 100)


QUICK = Sizes(
    reruns=3,
    sessions=1,
    cold_starts=1,
    csv_mb=50.0,
    lists=10,
    small_store=(1_000, 4_000, 40, 1),
    big_store=(10_000, 40_000, 400, 10),
)


@dataclass
class Row:
    """One line of the printed table: `value` is zviz's figure, `baseline` what it is compared
    with (the small store, or the process before the preview), both in `unit`."""

    figure: str
    unit: str
    value: float | None
    baseline: float | None
    ratio: str
    target: str
    result: str
    note: str = ""


@dataclass
class Figures:
    """Every raw figure of a run, by name, and the checks that failed while measuring."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def progress(message: str) -> None:
    """One progress line on stderr (the table goes to stdout)."""
    print(f"[bench-app] {message}", file=sys.stderr, flush=True)


# -- helpers shared by the workers ---------------------------------------------------------------


def _load_pipelines(work: Path) -> dict[str, Any]:
    script = work / "app_bench_pipelines.py"
    if not script.exists():
        script.write_text(PIPELINES_SOURCE)
    return runpy.run_path(str(script), run_name="app_bench_pipelines")


def bump_token(home: Path) -> None:
    """Tell every zviz process that the store changed, so that no cached read survives."""
    from zviz_core.store.db import TOKEN_FILE

    tmp = home / f"{TOKEN_FILE}.bench.{os.getpid()}"
    tmp.write_text(uuid.uuid4().hex, encoding="ascii")
    os.replace(tmp, home / TOKEN_FILE)


def admin_client() -> Any:
    """The Client the app gives the logged-in benchmark admin (same user, same access rules)."""
    from zviz_core import Client
    from zviz_core.access import AccessConfig

    config = Path(os.environ["ZVIZ_AUTH_CONFIG"]).read_text(encoding="utf-8")
    return Client(user=ADMIN, access=AccessConfig.from_yaml(config, source="bench"))


def _clear_streamlit_caches() -> None:
    import streamlit as st

    from zviz_core.ui import session

    st.cache_data.clear()
    st.cache_resource.clear()
    session._demo_checked.clear()


def _app_test(page: str, params: dict[str, str]) -> Any:
    """An AppTest of the entrypoint, logged in as the benchmark admin, on `page` with `params`."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=300)
    for name, value in params.items():
        at.query_params[name] = value
    at.session_state["username"] = ADMIN
    at.session_state["authentication_status"] = True
    at.switch_page(f"app_pages/{page}.py")
    return at


def _timed_run(at: Any) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def _summary(at: Any) -> dict[str, Any]:
    """What a run drew, for the orchestrator's checks."""

    def count(kind: str) -> int:
        try:
            return len(at.get(kind))
        except Exception:
            return 0

    menus = [m for m in at.get("menu_button") if str(m.key or "").startswith("tile-menu-")]
    return {
        "exceptions": [str(e.value)[:300] for e in at.exception],
        "errors": [str(e.value)[:300] for e in at.error],
        "tiles": len(menus),
        "dataframes": [len(d.value) for d in at.dataframe],
        "captions": [str(c.value) for c in at.caption][:12],
        "tables": len(at.dataframe),
        "images": count("image"),
        "iframes": count("iframe"),
        "json": count("json"),
        "charts": count("vega_lite_chart"),
        "markdown": len(at.markdown),
    }


# -- workers: each runs in its own interpreter ---------------------------------------------------


def worker_prepare(kind: str, work: Path, sizes: Sizes) -> dict[str, Any]:
    """Write one benchmark store in $ZVIZ_HOME: the dashboard, the 20-step run, or the big CSV."""
    from zviz_core import Client
    from zviz_core.enums import CuratedVisualizationSize as Size
    from zviz_core.enums import VisualizationResourceTypes as R

    pipelines = _load_pipelines(work)
    client = Client()
    if kind == "dashboard":
        by_type: dict[str, list[Any]] = {}
        runs = -(-sizes.dashboard_tiles // 6) + 1
        for _ in range(runs):
            run = client.get_pipeline_run(pipelines["mixed"]().id)
            for step_run in run.steps.values():
                for versions in step_run.outputs.values():
                    for version in versions:
                        for viz in version.visualizations:
                            by_type.setdefault(viz.type.value, []).append(viz)
        # Round robin over the types, so that every type shows about as often.
        order: list[Any] = []
        while len(order) < sizes.dashboard_tiles and any(by_type.values()):
            for vizs in by_type.values():
                if vizs and len(order) < sizes.dashboard_tiles:
                    order.append(vizs.pop(0))
        project = client.active_project.id
        for i, viz in enumerate(order):
            client.create_curated_visualization(
                viz.id,
                project,
                R.PROJECT,
                display_name=f"{viz.type.value} tile {i + 1}",
                display_order=10 * (i + 1),
                layout_size=Size.FULL_WIDTH if i % 3 == 0 else Size.HALF_WIDTH,
            )
        types = sorted({v.type.value for v in order})
        half = sum(1 for i in range(len(order)) if i % 3)
        return {"tiles": len(order), "types": types, "half": half, "full": len(order) - half}
    if kind == "run":
        run = client.get_pipeline_run(pipelines["twenty"]().id)
        shown = 0
        for step_run in run.steps.values():
            for versions in step_run.outputs.values():
                if shown < sizes.run_tiles and versions and versions[0].visualizations:
                    client.create_curated_visualization(
                        versions[0].visualizations[0].id,
                        run.id,
                        R.PIPELINE_RUN,
                        layout_size=Size.HALF_WIDTH if shown % 2 else Size.FULL_WIDTH,
                    )
                    shown += 1
        return {"run_id": str(run.id), "steps": len(run.steps), "tiles": shown}
    if kind == "csv":
        os.environ["ZVIZ_BENCH_CSV_MB"] = str(sizes.csv_mb)
        run = client.get_pipeline_run(pipelines["csv_pipeline"]().id)
        viz = run.steps["big_csv"].output.visualizations[0]
        size = Path(viz.uri).stat().st_size
        with open(viz.uri, "rb") as fh:
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
        return {"run_id": str(run.id), "bytes": size, "rows": rows}
    raise ValueError(f"unknown store kind {kind!r}")


def worker_page(page: str, params: dict[str, str], reruns: int, sessions: int) -> dict[str, Any]:
    """Time one page through the entrypoint: the process's first run, warm reruns of that
    session, then new sessions with every cache emptied (Streamlit's and the store's)."""
    home = Path(os.environ["ZVIZ_HOME"])
    at = _app_test(page, params)
    process_first = _timed_run(at)
    summary = _summary(at)
    warm = [_timed_run(at) for _ in range(reruns)]
    fresh = []
    for _ in range(sessions):
        _clear_streamlit_caches()
        bump_token(home)
        gc.collect()
        at = _app_test(page, params)
        fresh.append(_timed_run(at))
    last = _summary(at)
    if last["exceptions"] and not summary["exceptions"]:
        summary = last
    return {
        "process_first_s": process_first,
        "first_s": statistics.median(fresh),
        "first_all_s": fresh,
        "warm_s": statistics.median(warm),
        "warm_all_s": warm,
        "summary": summary,
    }


def worker_memory(run_id: str, interval_s: float = 0.002) -> dict[str, Any]:
    """Peak RSS added by rendering the big CSV's preview (run page, step chosen), over a
    process that already rendered the same page with a tiny CSV."""
    import psutil

    process = psutil.Process()
    at = _app_test("runs", {"id": run_id, "step": "small_csv"})
    at.run()
    small = _summary(at)
    at.run()
    _clear_streamlit_caches()
    del at
    gc.collect()
    base = process.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            stop.wait(interval_s)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    at = _app_test("runs", {"id": run_id, "step": "big_csv"})
    try:
        seconds = _timed_run(at)
    finally:
        stop.set()
        watcher.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return {
        "base_mb": base / MB,
        "peak_mb": peak[0] / MB,
        "extra_mb": (peak[0] - base) / MB,
        "after_mb": process.memory_info().rss / MB,
        "seconds": seconds,
        "summary": _summary(at),
        "small_summary": small,
    }


def worker_lists(pipeline_id: str, n: int) -> dict[str, Any]:
    """Median ms of the list calls the runs, pipeline and artifacts pages make (n calls each,
    after one untimed call), as the benchmark admin."""
    client = admin_client()
    calls: dict[str, Callable[[], Any]] = {
        "list_pipeline_runs": lambda: client.list_pipeline_runs(size=20),
        "list_curated_visualizations": lambda: client.list_curated_visualizations(
            "pipeline", pipeline_id
        ),
        "list_artifact_versions": lambda: client.list_artifact_versions(
            name_contains=ARTIFACT_QUERY, size=20
        ),
    }
    result: dict[str, Any] = {}
    for name, call in calls.items():
        first = call()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        result[f"{name}_ms"] = statistics.median(times) * 1000
        result[f"{name}_count"] = getattr(first, "total", None) or len(first)
    return result


def worker_pick_pipeline(tiles_wanted: int) -> dict[str, Any]:
    """The pipeline whose dashboard has the tile count closest to `tiles_wanted` (0: the most)."""
    client = admin_client()
    best: tuple[float, str, str, int] | None = None
    for pipeline in client.list_pipelines(size=200).items:
        count = len(client.list_curated_visualizations("pipeline", pipeline.id))
        score = -count if tiles_wanted <= 0 else abs(count - tiles_wanted)
        if best is None or score < best[0]:
            best = (score, str(pipeline.id), pipeline.name, count)
    if best is None:
        raise RuntimeError("the store has no pipeline")
    return {"pipeline_id": best[1], "name": best[2], "tiles": best[3]}


def run_worker(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else Sizes()
    params = json.loads(args.params) if args.params else {}
    if args.worker == "prepare":
        result = worker_prepare(params["kind"], Path(params["work"]), sizes)
    elif args.worker == "page":
        result = worker_page(params["page"], params["query"], params["reruns"], params["sessions"])
    elif args.worker == "memory":
        result = worker_memory(params["run_id"])
    elif args.worker == "lists":
        result = worker_lists(params["pipeline_id"], params["n"])
    else:
        result = worker_pick_pipeline(params["tiles"])
    print(json.dumps(result))
    return 0


# -- the orchestrating process -------------------------------------------------------------------


def write_auth_config(path: Path) -> Path:
    """An auth config with one admin (read and write everything), as a team deployment has."""
    from zviz_core.ui.auth import hash_password

    path.write_text(
        "credentials:\n  usernames:\n"
        f"    {ADMIN}: {{name: Bench Admin, email: admin@example.com, "
        f"password: '{hash_password(ADMIN_PASSWORD)}', roles: [admin]}}\n"
        "cookie: {name: zviz_bench_auth, expiry_days: 1}\n"
        "access:\n  roles:\n    admin: {read: ['*'], write: ['*']}\n",
        encoding="utf-8",
    )
    return path


def child_env(home: Path, auth: Path | None, cache: bool = True) -> dict[str, str]:
    """A worker's environment: its store, the benchmark login config, no demo, cache on/off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.update(
        ZVIZ_HOME=str(home),
        ZVIZ_DEMO="0",
        ZVIZ_READ_CACHE="1" if cache else "0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    if auth is not None:
        env.update(ZVIZ_AUTH_CONFIG=str(auth), ZVIZ_COOKIE_KEY=COOKIE_KEY)
    return env


def call_worker(
    name: str, env: dict[str, str], quick: bool, cwd: Path, **params: Any
) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    command += ["--params", json.dumps(params)] + (["--quick"] if quick else [])
    done = subprocess.run(
        command, env=env, cwd=str(cwd), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_page(figures: Figures, label: str, result: dict[str, Any], **expect: int) -> None:
    """Record a problem when a page raised, showed an error, or drew less than expected."""
    summary = result["summary"]
    if summary["exceptions"]:
        figures.problems.append(f"{label}: exception {summary['exceptions'][0]}")
    if summary["errors"]:
        figures.problems.append(f"{label}: error shown: {summary['errors'][0]}")
    for key, wanted in expect.items():
        if summary.get(key, 0) < wanted:
            figures.problems.append(f"{label}: {summary.get(key)} {key}, expected {wanted}")


class Bench:
    """Measures every figure in child processes on stores in a temporary folder."""

    def __init__(self, sizes: Sizes, quick: bool, work: Path) -> None:
        self.sizes = sizes
        self.quick = quick
        self.work = work
        self.cwd = work / "cwd"
        (self.cwd / ".streamlit").mkdir(parents=True)
        shutil.copy(ROOT / ".streamlit" / "config.toml", self.cwd / ".streamlit" / "config.toml")
        self.auth = write_auth_config(work / "auth.yaml")
        self.figures = Figures()

    def worker(self, name: str, home: Path, cache: bool = True, **params: Any) -> dict[str, Any]:
        env = child_env(home, self.auth, cache)
        return call_worker(name, env, self.quick, self.cwd, **params)

    def page(self, home: Path, page: str, cache: bool = True, **query: str) -> dict[str, Any]:
        return self.worker(
            "page",
            home,
            cache,
            page=page,
            query=query,
            reruns=self.sizes.reruns,
            sessions=self.sizes.sessions,
        )

    def prepare(self, kind: str, home: Path) -> dict[str, Any]:
        return self.worker("prepare", home, kind=kind, work=str(self.work))

    def measure_issue3(self) -> None:
        v, s = self.figures.values, self.sizes
        progress(f"{s.dashboard_tiles}-tile dashboard: preparing the store")
        home = self.work / "dashboard"
        v["dashboard_store"] = self.prepare("dashboard", home)
        progress("dashboard: AppTest runs")
        v["dashboard"] = self.page(home, "overview")
        check_page(
            self.figures,
            "dashboard",
            v["dashboard"],
            tiles=s.dashboard_tiles,
            tables=1,
            images=1,
            iframes=1,
            json=1,
            charts=1,
        )

        progress(f"run page: a {s.run_steps}-step run with {s.run_tiles} tiles")
        home = self.work / "run"
        v["run_store"] = self.prepare("run", home)
        v["run_page"] = self.page(home, "runs", id=v["run_store"]["run_id"])
        check_page(self.figures, "run page", v["run_page"], tiles=s.run_tiles)

    def measure_memory(self) -> None:
        v = self.figures.values
        progress(f"CSV preview memory: writing a {self.sizes.csv_mb:g} MB CSV visualization")
        home = self.work / "csv"
        v["csv_store"] = self.prepare("csv", home)
        progress("CSV preview memory: rendering it")
        v["csv_memory"] = result = self.worker("memory", home, run_id=v["csv_store"]["run_id"])
        check_page(self.figures, "big CSV preview", result)
        rows = f"{v['csv_store']['rows']:,}"
        if not any(rows in c for c in result["summary"]["captions"]):
            self.figures.problems.append(f"big CSV preview: no caption with its {rows} rows")
        if not result["summary"]["dataframes"]:
            self.figures.problems.append("big CSV preview: no table shown")

    def measure_stores(self) -> None:
        from fill_store import fill

        v, s = self.figures.values, self.sizes
        picked: dict[str, Any] = {}
        for label, (runs, versions, tiles, pipes) in (
            ("small", s.small_store),
            ("big", s.big_store),
        ):
            home = self.work / f"{label}-store"
            progress(f"filling a store: {runs:,} runs, {versions:,} versions, {tiles:,} tiles")
            filled = fill(home, runs, versions, tiles, pipelines=pipes)
            v[f"fill_{label}_s"] = filled.seconds
            v[f"{label}_store"] = {"runs": runs, "versions": versions, "tiles": tiles}
            want = 0 if label == "small" else picked["small"]["tiles"]
            picked[label] = self.worker("pick", home, tiles=want)
            v[f"{label}_pipeline"] = picked[label]
            if label == "big":
                progress(f"runs page on {runs:,} runs, read cache on")
                v["runs_page"] = self.page(home, "runs")
                check_page(self.figures, "runs page", v["runs_page"])
            pages = {
                "runs": ("runs", {}),
                "pipeline": ("pipelines", {"id": picked[label]["pipeline_id"]}),
                "artifacts": ("artifacts", {"q": ARTIFACT_QUERY}),
            }
            for name, (page, query) in pages.items():
                progress(f"{name} page on the {runs:,}-run store, read cache off")
                result = self.page(home, page, cache=False, **query)
                v[f"{label}_{name}_page"] = result
                check_page(self.figures, f"{name} page, {runs:,} runs", result)
            progress(f"list calls on the {runs:,}-run store, read cache off")
            v[f"{label}_lists"] = self.worker(
                "lists",
                home,
                cache=False,
                pipeline_id=picked[label]["pipeline_id"],
                n=s.lists,
            )

    def measure_browser(self) -> None:
        v = self.figures.values
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            chromium, v["browser_skip"] = None, "playwright is not installed"
        if chromium is None:
            v.setdefault("browser_skip", "Chromium is not installed (apt-get install chromium)")
            progress(f"Chromium row skipped: {v['browser_skip']}")
            return
        home = self.work / "demo"
        progress("seeding the demo store for the Chromium cold starts")
        env = child_env(home, None)
        env["ZVIZ_DEMO"] = "1"
        code = "from zviz_core import Client; from zviz_core.demo import ensure_demo; "
        code += "assert ensure_demo(Client())"
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        try:
            v["browser"] = cold_starts(chromium, env, self.cwd, self.work, self.sizes.cold_starts)
        except Exception as exc:  # a browser that times out must not lose the other figures
            v["browser_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            self.figures.problems.append(f"Chromium cold start failed: {v['browser_error']}")


# -- Chromium ------------------------------------------------------------------------------------


@contextmanager
def streamlit_server(env: dict[str, str], cwd: Path, log: Path) -> Iterator[tuple[str, float]]:
    """Start `streamlit run streamlit_app.py`; yield (url, the perf_counter when it started)."""
    started = time.perf_counter()
    process, url = server.launch(env, cwd, log)
    try:
        server.wait_healthy(process, url, log, SERVER_TIMEOUT_S, poll_s=0.02)
        yield url, started
    finally:
        server.stop(process)


def cold_starts(chromium: str, env: dict[str, str], cwd: Path, work: Path, n: int) -> dict:
    """`n` times: start the server, open it in a fresh browser profile, time the login form,
    then log in as the demo admin and time the dashboard."""
    from playwright.sync_api import expect, sync_playwright

    from zviz_core.demo import DEMO_USERS

    password = next(p for u, p, _ in DEMO_USERS if u == "admin")
    results: dict[str, list[float]] = {"health_s": [], "login_form_s": [], "dashboard_s": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for i in range(n):
                progress(f"Chromium cold start {i + 1} of {n}")
                # The visitor's browser is already open: the profile and tab exist before the
                # server starts, and only the server start and the page load are timed.
                context = browser.new_context(viewport={"width": 1400, "height": 1600})
                context.set_default_timeout(BROWSER_TIMEOUT_MS)
                page = context.new_page()
                try:
                    with streamlit_server(env, cwd, work / f"streamlit-{i}.log") as (url, t0):
                        results["health_s"].append(time.perf_counter() - t0)
                        page.goto(url)
                        # While a rerun replaces the form, the old copy can still be on the page
                        # for a moment: wait for the first, then for the page to settle on one.
                        form = page.get_by_label("Password", exact=True)
                        form.first.wait_for(state="visible")
                        page.wait_for_selector(IDLE)
                        expect(form).to_have_count(1, timeout=BROWSER_TIMEOUT_MS)
                        results["login_form_s"].append(time.perf_counter() - t0)
                        page.get_by_label("Username").fill("admin")
                        page.get_by_label("Password", exact=True).fill(password)
                        t1 = time.perf_counter()
                        page.get_by_role("button", name="Log in").click()
                        heading = page.get_by_role("heading", name="Project dashboard")
                        heading.wait_for(state="visible")
                        page.locator("[data-testid=stSidebar]").get_by_text("Log out").wait_for()
                        page.wait_for_selector(IDLE)
                        results["dashboard_s"].append(time.perf_counter() - t1)
                finally:
                    context.close()
        finally:
            browser.close()
    return {
        **results,
        "median_health_s": statistics.median(results["health_s"]),
        "median_login_form_s": statistics.median(results["login_form_s"]),
        "median_dashboard_s": statistics.median(results["dashboard_s"]),
    }


# -- the table -----------------------------------------------------------------------------------


def build_rows(f: Figures, sizes: Sizes) -> list[Row]:
    """Turn the raw figures into table rows with a verdict each."""
    v = f.values
    rows: list[Row] = []

    def at_most(figure: str, unit: str, value: float, limit: float, **kw: Any) -> None:
        verdict = "PASS" if value <= limit else "FAIL"
        rows.append(Row(figure, unit, value, None, "-", f"<= {limit:g} {unit}", verdict, **kw))

    def info(figure: str, unit: str, value: float, baseline: float | None = None) -> None:
        rows.append(Row(figure, unit, value, baseline, "-", "info", "-"))

    d = v["dashboard_store"]
    name = (
        f"{d['tiles']}-tile dashboard, {len(d['types'])} types, {d['full']} full/{d['half']} half"
    )
    info(f"{name}, first run of a fresh process", "s", v["dashboard"]["process_first_s"])
    at_most(f"{name}, first run, caches empty", "s", v["dashboard"]["first_s"], 0.5)
    at_most(f"{name}, warm rerun (median of {sizes.reruns})", "s", v["dashboard"]["warm_s"], 0.5)

    r = v["run_store"]
    name = f"run page, {r['steps']} steps + {r['tiles']} tiles"
    info(f"{name}, first run of a fresh process", "s", v["run_page"]["process_first_s"])
    at_most(f"{name}, first run, caches empty", "s", v["run_page"]["first_s"], 0.3)
    at_most(f"{name}, warm rerun (median of {sizes.reruns})", "s", v["run_page"]["warm_s"], 0.3)

    big, small = v["big_store"], v["small_store"]
    name = f"runs page, {big['runs']:,} runs in store"
    info(f"{name}, first run of a fresh process", "s", v["runs_page"]["process_first_s"])
    at_most(f"{name}, first run, caches empty", "s", v["runs_page"]["first_s"], 0.3)
    at_most(f"{name}, warm rerun (median of {sizes.reruns})", "s", v["runs_page"]["warm_s"], 0.3)

    b = v.get("browser")
    label = f"streamlit run -> login form in Chromium (median of {sizes.cold_starts})"
    if b is None and "browser_error" in v:
        rows.append(Row(label, "s", None, None, "-", "<= 3 s", "FAIL", v["browser_error"]))
    elif b is None:
        rows.append(Row(label, "s", None, None, "-", "<= 3 s", "SKIP", v.get("browser_skip", "")))
    else:
        at_most(label, "s", b["median_login_form_s"], 3.0)
        info("  of which: server start to healthy", "s", b["median_health_s"])
        info("login click -> dashboard in Chromium", "s", b["median_dashboard_s"])

    m = v["csv_memory"]
    mb = v["csv_store"]["bytes"] / MB
    figure = f"{mb:.0f} MB CSV preview: peak RSS added (baseline: process RSS)"
    verdict = "PASS" if m["extra_mb"] < 300 else "FAIL"
    rows.append(Row(figure, "MB", m["extra_mb"], m["base_mb"], "-", "< 300 MB", verdict))
    info(f"{mb:.0f} MB CSV preview: run time", "s", m["seconds"])

    scale = f"{big['runs']:,} vs {small['runs']:,} runs"
    pages = {
        "runs": "runs page",
        "pipeline": "pipeline dashboard",
        "artifacts": f"artifact search '{ARTIFACT_QUERY}'",
    }
    for key, title in pages.items():
        mine, base = v[f"big_{key}_page"]["warm_s"], v[f"small_{key}_page"]["warm_s"]
        extra = ""
        if key == "pipeline":
            extra = f" ({v['big_pipeline']['tiles']}/{v['small_pipeline']['tiles']} tiles)"
        ratio = mine / base
        rows.append(
            Row(
                f"{title}{extra}, {scale}, cache off",
                "s",
                mine,
                base,
                f"{ratio:.2f}x",
                "<= 1.5x",
                "PASS" if ratio <= 1.5 else "FAIL",
            )
        )
    for call in ("list_pipeline_runs", "list_curated_visualizations", "list_artifact_versions"):
        mine, base = v["big_lists"][f"{call}_ms"], v["small_lists"][f"{call}_ms"]
        verdict = "PASS" if max(mine, base) <= 10 else "FAIL"
        rows.append(
            Row(
                f"{call}, {scale}, cache off",
                "ms",
                mine,
                base,
                f"{mine / base:.2f}x",
                "<= 10 ms",
                verdict,
            )
        )
    info(f"fill_store.fill, {big['runs']:,} runs store", "s", v["fill_big_s"])
    rows.append(
        Row(
            "every page drew what it should (no exception or error, all tiles)",
            "",
            None,
            None,
            "-",
            "no problem",
            "FAIL" if f.problems else "PASS",
        )
    )
    return rows


def render(rows: list[Row]) -> str:
    """The rows as an aligned, pipe-separated table."""
    return table.render(
        ("figure", "zviz", "baseline", "ratio", "target", "result"),
        [
            (r.figure, fmt(r.value, r.unit), fmt(r.baseline, r.unit), r.ratio, r.target, r.result)
            for r in rows
        ],
    )


def notes(f: Figures, sizes: Sizes, quick: bool, loads: dict[str, float | None]) -> list[str]:
    """The lines printed under the table: machine, load, how the figures were taken."""
    cores = os.cpu_count() or 1
    shown = ", ".join(f"{k} {'?' if x is None else f'{x:.1f}'}" for k, x in loads.items())
    busy = any(x is not None and x > cores for x in loads.values())
    lines = [
        f"machine: {cores} cores, Python {platform.python_version()}; "
        f"mode: {'quick (smoke sizes, not comparable)' if quick else 'full'}",
        f"load average (1 min): {shown}"
        + ("; ABOVE the core count: figures are inflated" if busy else ""),
        "AppTest rows: streamlit_app.py logged in as an admin of a login config (authenticator "
        "on every run), each page in a fresh process. 'first run of a fresh process' includes "
        "the imports; 'first run, caches empty' is a new session after Streamlit's caches and "
        f"the store's read cache were emptied (median of {sizes.sessions}); 'warm rerun' is "
        f"the median of {sizes.reruns} reruns of one session.",
        "Chromium: a fresh browser profile per cold start, already open; timed from starting "
        "`streamlit run` (demo store present) until the login form is visible and the run "
        "finished; the dashboard figure runs from the login click to the project dashboard.",
        "CSV: the run page with the big CSV's step open, over a process that drew the same "
        "page with a tiny CSV (RSS sampled every 2 ms with psutil); baseline = that RSS.",
        f"big store: zviz = the {sizes.big_store[0]:,}-run store ({sizes.big_store[1]:,} "
        f"versions, {sizes.big_store[2]:,} tiles, {sizes.big_store[3]} pipelines of "
        f"{sizes.big_store[0] // sizes.big_store[3]:,} runs), baseline = the "
        f"{sizes.small_store[0]:,}-run store ({sizes.small_store[1]:,} / "
        f"{sizes.small_store[2]:,}); pages compared on warm reruns with ZVIZ_READ_CACHE=0 "
        f"(every run reads the store), list calls median of {sizes.lists} with the cache off.",
    ]
    if "browser_skip" in f.values:
        lines.append(f"Chromium row SKIP: {f.values['browser_skip']}")
    lines += [f"PROBLEM: {p}" for p in f.problems]
    return lines


def measure(sizes: Sizes, quick: bool, work: Path, loads: dict[str, float | None]) -> Figures:
    """Every figure, each from child processes on stores under `work`."""
    sys.path.insert(0, str(BENCH))
    bench = Bench(sizes, quick, work)
    bench.measure_issue3()
    bench.measure_memory()
    bench.measure_stores()
    loads["before Chromium"] = load_average()
    bench.measure_browser()
    return bench.figures


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run a worker, or measure everything and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (< 60 s)")
    parser.add_argument("--json", type=Path, help="write every figure and row to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--worker", choices=["prepare", "page", "memory", "lists", "pick"], help=argparse.SUPPRESS
    )
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)

    sizes = QUICK if args.quick else Sizes()
    started = time.perf_counter()
    loads: dict[str, float | None] = {"start": load_average()}
    with tempfile.TemporaryDirectory(prefix="zviz-bench-app-") as tmp:
        figures = measure(sizes, args.quick, Path(tmp), loads)
    loads["end"] = load_average()
    rows = build_rows(figures, sizes)
    print(render(rows))
    print()
    for line in notes(figures, sizes, args.quick, loads):
        print(f"  {line}")
    progress(f"done in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": "quick" if args.quick else "full",
                    "load_average": loads,
                    "figures": figures.values,
                    "problems": figures.problems,
                    "rows": [asdict(r) for r in rows],
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    failed = any(r.result == "FAIL" for r in rows)
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

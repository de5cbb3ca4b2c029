"""A first `python3 dev.py app` is quiet: its log holds Streamlit's banner and zviz's one-line
store summary, and nothing else, through the first page load in a real browser."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import settle
from zviz_testing.streamlit_server import free_port, stop, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^zviz: DuckDB store in (?P<home>\S+), artifacts in the store folder's artifacts/, "
    r"demo on \(an empty store is seeded\)$"
)
BANNER = {"You can now view your Streamlit app in your browser."}
URL = re.compile(r"^URL: http://127\.0\.0\.1:\d+$")


def test_dev_py_app_prints_the_banner_and_one_store_line_only(
    tmp_path: Path, new_context: Callable[[], Any]
) -> None:
    home = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    # The venv this suite runs in (dev.py made it): dev.py finds it installed and starts at once.
    env.update(ZVIZ_HOME=str(home), ZVIZ_VENV=sys.prefix, PYTHONUNBUFFERED="1")
    port = free_port()
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "dev.py"), "app", "--server.port", str(port)],
            cwd=tmp_path,  # dev.py works from the repository wherever it is started
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, url, log, timeout_s=120)
        page = new_context().new_page()
        page.goto(url)
        page.get_by_label("Password", exact=True).wait_for(timeout=120_000)  # the demo's login
        settle(page)
        page.wait_for_timeout(2000)  # a watcher's complaints would come while the page loads
    finally:
        stop(process)
    # dev.py and `zviz app` become streamlit: stopping the process started stops the app, and
    # leaves nothing listening (they used to leave streamlit running, orphaned).
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the app outlived its stopped process"

    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line and line != "Stopping..."]
    # On a fresh clone dev.py first says it installs; nothing of pip's output follows it.
    lines = [line for line in lines if not line.startswith("dev.py: ")]
    assert lines, "the app printed nothing"
    summary = SUMMARY.match(lines[0])
    assert summary and Path(summary["home"]) == home, lines[0]
    extra = [line for line in lines[1:] if line not in BANNER and not URL.match(line)]
    assert not extra, "the first start printed more than the banner:\n" + "\n".join(extra)
    assert home.joinpath("zviz.duckdb").is_file(), "the demo store was seeded"

"""What open dashboards cost while nothing changes: the app's CPU with N sessions polling an idle
store, against the same N sessions with polling off (issue 12, part 3: < 5 % of the machine).

    .venv/bin/python bench/idle_poll.py [--sessions 50] [--seconds 60] [--refresh 120]

Each session is a Chromium page, logged in, on a model page whose dashboard has a tile following
the latest run (the poll reads the store's change token every --refresh seconds). Only the
Streamlit server's CPU is counted (user + system time from /proc), not Chromium's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zviz_testing import streamlit_server as server  # noqa: E402
from zviz_testing.streamlit_server import CHROMIUM_ARGS  # noqa: E402

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _world(home: Path) -> tuple[Any, Path]:
    os.environ.update(ZVIZ_HOME=str(home), ZVIZ_DEMO="0")
    for name in ("ZVIZ_AUTH_CONFIG", "ZVIZ_PROJECT", "ZVIZ_STORE_URL", "ZVIZ_ARTIFACT_STORE"):
        os.environ.pop(name, None)
    from zviz_core import Client
    from zviz_core.store.db import Database
    from zviz_testing.world import build_world, hash_passwords, write_auth_config

    world = build_world()
    report = world.everything_run.steps["report"].outputs["report"][0].visualizations[0]
    Client().create_curated_visualization(report.id, world.model_id, "model", follow="output")
    Database._forget_all()
    return world, write_auth_config(home.parent / "auth.yaml", hash_passwords())


def _measure(
    home: Path, config: Path, model_id: Any, sessions: int, seconds: float, refresh: float
) -> float:
    from playwright.sync_api import sync_playwright

    from zviz_testing.world import COOKIE_KEY, USERS

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.update(
        ZVIZ_HOME=str(home),
        ZVIZ_DEMO="0",
        ZVIZ_AUTH_CONFIG=str(config),
        ZVIZ_COOKIE_KEY=COOKIE_KEY,
        ZVIZ_REFRESH_SECONDS=str(refresh),
        PYTHONPATH=str(ROOT),
    )
    cwd = home.parent / f"cwd-{refresh}"
    (cwd / ".streamlit").mkdir(parents=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml")
    log = home.parent / f"streamlit-{refresh}.log"
    process, url = server.launch(env, cwd, log)
    try:
        server.wait_healthy(process, url, log, 60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(120_000)
            first = context.new_page()
            first.goto(url)
            first.wait_for_selector(IDLE)
            admin = USERS["admin"]
            first.get_by_label("Username").fill(admin.username)
            first.get_by_label("Password", exact=True).fill(admin.password)
            first.get_by_role("button", name="Log in").click()
            first.locator("[data-testid=stSidebar]").get_by_text(admin.name).wait_for()
            pages = [first]
            target = f"{url}/models?id={model_id}"
            for i in range(sessions):
                page = first if i == 0 else context.new_page()
                page.goto(target)
                page.get_by_text("Model dashboard").wait_for()
                page.wait_for_selector(IDLE)
                pages.append(page)
                print(f"  session {i + 1}/{sessions} open", file=sys.stderr, end="\r")
            time.sleep(10.0)  # the first loads settle; each page's poll timer runs from its load
            start_cpu, start = _cpu_seconds(process.pid), time.monotonic()
            time.sleep(seconds)
            used = _cpu_seconds(process.pid) - start_cpu
            wall = time.monotonic() - start
            browser.close()
        return 100.0 * used / (wall * (os.cpu_count() or 1))
    finally:
        server.stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--refresh", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        world, config = _world(home)
        on = _measure(home, config, world.model_id, args.sessions, args.seconds, args.refresh)
        off = _measure(home, config, world.model_id, args.sessions, args.seconds, 0)
    cores = os.cpu_count()
    print(f"idle dashboards: {args.sessions} sessions, {args.seconds:.0f} s, {cores} cores")
    print(f"  app CPU, polling every {args.refresh:g} s : {on:5.2f} % of the machine")
    print(f"  app CPU, polling off          : {off:5.2f} % of the machine")
    print(f"  added by polling              : {on - off:5.2f} % (target < 5 %)")


if __name__ == "__main__":
    main()
